"""A bundle's pushes to one account go out together: one mailbox slot, one claim
statement and one access token for all of them (``calendars.services.push``).

Under load the web sends several bookings' pushes and emails in one message (the
outbox bundle); the first push item of an account then pushes the others of that
account too, one after the other, and their own items find nothing left to do. These
tests run such a bundle in-process against the Graph sandbox and count what it cost:
statements, Graph calls, sign-in reads. Each row's guarantees stay its own: its
``transactionId`` create request written before the call, its retry after
``Retry-After``, and nothing attempted for a row the batch did not get to.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calendars import crypto
from calendars.dispatch import PUSH_TASK
from calendars.models import PushedEvent, PushState
from outbox import dispatch
from tests.support.office365 import (
    ADELE,
    MEGAN,
    book_starts,
    connect_host,
    offered,
    open_page,
    rows_for,
    tomorrow,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def sent(monkeypatch):
    """What would reach the broker, (task, args, countdown): nothing runs on its own."""
    messages: list[tuple[str, list, float | None]] = []

    def record(name, *, args, countdown=None, options=None):
        messages.append((name, list(args), countdown))
        return True

    monkeypatch.setattr(dispatch, "task_send", record)
    return messages


@pytest.fixture
def decrypts(monkeypatch):
    """How many times a stored sign-in was decrypted."""
    calls: list[int] = []
    decrypt = crypto.decrypt

    def counted(value):
        calls.append(1)
        return decrypt(value)

    monkeypatch.setattr(crypto, "decrypt", counted)
    return calls


def _booked(client, slug: str, count: int) -> list[int]:
    """``count`` bookings on page ``slug``, their (pending) push rows' ids, in order."""
    starts = [start for start, _ in offered(client, slug, first=tomorrow())[:count]]
    made = book_starts(client, slug, starts, name=slug)
    assert dispatch.publisher_drain(10)
    ids = [row.pk for booking in made for row in rows_for(booking["id"])]
    assert len(ids) == count
    return ids


def _run_bundle(row_ids: list[int]) -> None:
    items = [[PUSH_TASK, [pk]] for pk in row_ids]
    dispatch.bundle_run(items, time_limit=90)


def _graph_calls(o365, after: int) -> list[str]:
    return [
        f"{call.method} {call.path.split('/v1.0', 1)[-1].split('/')[1]}"
        for call in o365.control.request_log(after_id=after)
    ]


def _statements(captured, table: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if f'"{table}"' in q["sql"]]


def _slots_given_back(captured) -> list[str]:
    """The statements that gave a mailbox slot back: one per slot held."""
    slots = _statements(captured, "calendars_mailboxslot")
    return [
        sql
        for sql in slots
        if sql.startswith('UPDATE "calendars_mailboxslot" SET "holder" = \'\',')
    ]


def test_a_bundles_pushes_of_one_account_share_one_slot_one_claim_and_one_token(
    client, adele, intro, o365, sent, decrypts
):
    rows = _booked(client, "intro", 3)
    sent.clear()
    decrypts.clear()
    before = o365.control.request_log()[-1].id

    with CaptureQueriesContext(connection) as captured:
        _run_bundle(rows)

    assert all(row.state == PushState.SYNCED for row in PushedEvent.objects.filter(pk__in=rows))
    assert (
        len([e for e in o365.control.events(ADELE, calendar="Calendar") if e.transaction_id]) == 3
    )
    assert _graph_calls(o365, before) == ["POST me"] * 3  # one create each, no token call
    assert len(decrypts) == 1  # the sign-in read once for the three
    assert len(_slots_given_back(captured)) == 1  # one slot held for the three
    pushes = _statements(captured, "calendars_pushedevent")
    claims = [sql for sql in pushes if '"attempts" + 1' in sql]
    assert len(claims) == 1  # the three rows claimed in one statement
    # The first item's read of its row, then per row its create request (written before
    # the call) and its settling; the other two items find their rows pushed unread.
    creates_written = [
        sql
        for sql in pushes
        if sql.startswith("UPDATE") and "create_request" in sql.split("WHERE")[0]
    ]
    assert len(creates_written) == 3
    # The join link each push made is read back by the booking's handler (one each).
    links_read = [sql for sql in pushes if sql.startswith('SELECT "calendars_pushedevent"."online')]
    # The claim reads what it took in the same statement (SQLite: in a second one).
    claim = 1 if connection.vendor == "postgresql" else 2
    assert len(pushes) == 1 + claim + 3 * 2 + len(links_read)
    assert [name for name, _, _ in sent if name == PUSH_TASK] == []  # nothing queued again


def test_a_lone_push_still_goes_out_on_its_own(client, adele, intro, o365, sent):
    [row] = _booked(client, "intro", 1)
    before = o365.control.request_log()[-1].id

    _run_bundle([row])

    assert PushedEvent.objects.get(pk=row).state == PushState.SYNCED
    assert _graph_calls(o365, before) == ["POST me"]


def test_a_throttled_account_stops_the_batch_and_gives_the_rest_back_unattempted(
    client, adele, intro, o365, sent, monkeypatch
):
    rows = _booked(client, "intro", 3)
    sent.clear()
    # The first create is throttled for longer than a call waits in place.
    o365.control.faults_set(kinds=("429",), mailbox=ADELE, retry_after=40, times=1)
    monkeypatch.setattr(dispatch, "BUNDLE_INLINE_WINDOW", -1)  # only the first item runs here
    before = o365.control.request_log()[-1].id
    started = timezone.now()

    _run_bundle(rows)

    assert _graph_calls(o365, before) == ["POST me"]  # no call after the refusal
    first, *rest = PushedEvent.objects.filter(pk__in=rows).order_by("pk")
    assert first.state == PushState.PENDING
    assert first.attempts == 1
    assert first.next_attempt_at >= started + timedelta(seconds=40)  # Retry-After honoured
    assert first.create_request is not None  # written before its call, sent again on retry
    for row in rest:  # as before the batch claimed them: not an attempt
        assert (row.state, row.attempts, row.claimed_by, row.create_request) == (
            PushState.PENDING,
            0,
            "",
            None,
        )
    queued = [(args, countdown) for name, args, countdown in sent if name == PUSH_TASK]
    assert ([rows[0]], pytest.approx(first_wait(first, started), abs=2)) in queued
    # The two rows given back go on their own items, at once.
    assert ([rows[1]], None) in queued
    assert ([rows[2]], None) in queued


def first_wait(row: PushedEvent, started) -> float:
    return (row.next_attempt_at - started).total_seconds()


def test_rows_of_another_account_in_the_bundle_are_left_to_their_own_items(
    client, adele, intro, o365, sent, teammate, decrypts
):
    """Bob's push shares the bundle with Alice's but not her slot, claim or token."""
    alices = _booked(client, "intro", 2)
    bob_client = Client()
    bob_client.force_login(teammate)
    connect_host(bob_client, o365, address=MEGAN)
    open_page(teammate, slug="bob-intro", title="Bob's intro")
    [bobs] = _booked(bob_client, "bob-intro", 1)
    decrypts.clear()
    before = o365.control.request_log()[-1].id

    with CaptureQueriesContext(connection) as captured:
        _run_bundle([alices[0], bobs, alices[1]])

    assert all(
        r.state == PushState.SYNCED for r in PushedEvent.objects.filter(pk__in=[*alices, bobs])
    )
    megans = [e for e in o365.control.events(MEGAN, calendar="Calendar") if e.transaction_id]
    assert len(megans) == 1
    adeles = [e for e in o365.control.events(ADELE, calendar="Calendar") if e.transaction_id]
    assert len(adeles) == 2
    assert _graph_calls(o365, before) == ["POST me"] * 3
    assert len(decrypts) == 2  # one per account
    assert len(_slots_given_back(captured)) == 2  # a slot per account
