"""The confirmation carries the Teams join link, with a real worker and the Graph sandbox:
the booking's push runs ahead of its confirmation emails in their bundle, so the invitee
and the host each get one email, with the link. When Graph is slow the confirmation does
not wait for it longer than CONFIRMATION_WAITS_FOR_LINK seconds: it goes without the
link, and the link follows in its own email, once, to both."""

from __future__ import annotations

import email
import re
from email.header import decode_header, make_header

import pytest

from booking.email_outbox import CONFIRMATION_WAITS_FOR_LINK
from booking.models import BookingEmail
from tests.calendars.test_workers import ours
from tests.support.office365 import ADELE, book_starts, offered, rows_for, tomorrow
from tests.support.worker import wait_until

pytestmark = pytest.mark.slow

SEPARATOR = "-" * 79


def _env(o365) -> dict[str, str]:
    """The sandbox, and quick retries. The calendar lease stays the test process's: a push
    whose time limit is shorter than the bundle's (which the booking's process computed)
    would leave the bundle and run on its own."""
    return {**o365.worker_env(), "CALENDAR_RETRY_BASE": "1", "CALENDAR_RETRY_CAP": "2"}


def _emails(output: str) -> list[tuple[str, str, str]]:
    """(to, subject, text and .ics) of each email the console mail backend printed."""
    found = []
    for chunk in output.split(SEPARATOR):
        start = chunk.find("Content-Type: ")
        if start < 0:
            continue
        message = email.message_from_string(chunk[start:])
        parts = [
            part.get_payload(decode=True).decode()
            for part in message.walk()
            if not part.is_multipart()
        ]
        subject = str(make_header(decode_header(message["Subject"])))
        found.append((message["To"], " ".join(subject.split()), "\n".join(parts)))
    return found


def _printed(worker, count: int) -> list[tuple[str, str, str]]:
    """The emails the worker printed, once there are ``count`` (its pool processes' output
    may reach us a little after their rows were marked sent)."""
    wait_until(lambda: len(_emails(worker.all_output())) >= count, timeout=30)
    return _emails(worker.all_output())


def _settled(made: dict, kinds: set[str]) -> bool:
    rows = BookingEmail.objects.filter(booking__uuid=made["id"])
    return {row.kind for row in rows if row.state == "sent"} >= kinds and all(
        row.is_settled for row in rows_for(made["id"])
    )


def test_one_confirmation_each_with_the_link_through_the_worker(
    client, host, adele, intro, o365, worker_factory
):
    worker = worker_factory(**_env(o365))
    start, _ = offered(client, "intro", first=tomorrow())[4]
    [made] = book_starts(client, "intro", [start], name="Priya")
    wait_until(lambda: _settled(made, {"confirmed"}), timeout=90, message=worker.output()[-3000:])
    [event] = ours(o365)
    sent = _printed(worker, 2)
    assert sorted((to, subject.split(":")[0]) for to, subject, _ in sent) == [
        (host.email, "Confirmed"),
        ("invitee000@example.com", "Confirmed"),
    ]
    for _to, _subject, text in sent:
        assert f"Join:  {event.join_url}" in text
        assert re.search(r"^URL:" + re.escape(event.join_url[:40]), text, re.M)
    assert set(BookingEmail.objects.values_list("kind", flat=True)) == {"confirmed"}


def test_a_slow_graph_sends_the_confirmation_without_the_link_and_the_link_after(
    client, host, adele, intro, o365, worker_factory
):
    worker = worker_factory(**_env(o365))
    start, _ = offered(client, "intro", first=tomorrow())[4]
    # A busy-time sync (connecting queued one, which the broker's purge may have taken)
    # is done before Graph turns slow: the slow answer is the event create's.
    from calendars.dispatch import sync_enqueue

    assert sync_enqueue(adele.pk)
    wait_until(lambda: "sync_connection connection=" in worker.all_output(), timeout=90)
    # The event's create answers after 8 seconds, once: the push is cut short at the
    # bound (and retried on its own), the confirmation goes, the link follows.
    o365.control.faults_set(kinds=["slow"], slow_seconds=8, mailbox=ADELE, times=1)
    [made] = book_starts(client, "intro", [start], name="Priya")
    wait_until(
        lambda: _settled(made, {"confirmed", "join_link"}),
        timeout=120,
        message="not settled (the worker's output follows the test)",
    )
    [event] = ours(o365)
    confirmation = BookingEmail.objects.get(kind="confirmed")
    # The push's first call was cut short at the bound (and the push retried on its own).
    assert re.search(r"push_event row=\d+ .*attempt 1 failed \( ?Timeout\)", worker.all_output())
    waited = (confirmation.invitee_sent_at - confirmation.created_at).total_seconds()
    assert waited < CONFIRMATION_WAITS_FOR_LINK + 8  # bounded (8: the cut-off call's slack)

    sent = _printed(worker, 4)
    got = {}
    for to, subject, text in sent:
        if event.join_url in text:
            got.setdefault(to, []).append(subject.split(":")[0])
    assert got == {host.email: ["Join link"], "invitee000@example.com": ["Join link"]}
    assert sorted(subject.split(":")[0] for _, subject, _ in sent) == [
        "Confirmed",
        "Confirmed",
        "Join link",
        "Join link",
    ]
    # The cut-off create is still being answered in the sandbox's thread (8 s); its call
    # reaches the sandbox's log only then. Wait for it, so it cannot land in the log of
    # the next test (which counts the sandbox's calls).
    wait_until(
        lambda: any(call.fault == "slow" for call in o365.control.request_log()),
        timeout=60,
        message="the slow create never finished in the sandbox",
    )
