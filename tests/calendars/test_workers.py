"""The proofs, with real Celery worker (and beat) processes and the Graph sandbox over HTTPS.

Bookings go through the public API in this process; their pushes are queued on
commit to the configured broker (Redis in CI, the filesystem broker locally) and
run by `celery worker` processes started from the production command. Outlook's
limit of 4 concurrent calls per mailbox stays on in the sandbox throughout.
"""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from calendars import tasks
from calendars.models import Calendar, PushedEvent, PushState
from outbox import dispatch
from tests.support.office365 import (
    ADELE,
    all_settled,
    book_starts,
    offered,
    rows_for,
    states,
    tomorrow,
)
from tests.support.worker import wait_until

pytestmark = pytest.mark.slow

# Small numbers so retries and take-overs happen within seconds, not minutes.
FAST = {
    "CALENDAR_RETRY_BASE": "1",
    "CALENDAR_RETRY_CAP": "2",
    "CALENDAR_PUSH_MAX_ATTEMPTS": "15",
    "CALENDAR_TASK_LEASE": "12",
    "CALENDAR_REQUEUE_AFTER": "3",
    "CALENDAR_SWEEP_INTERVAL": "2",
}
TOKENISH = re.compile(r"[A-Za-z0-9._~+/=-]{16,}")


def worker_env(o365, **extra: str) -> dict[str, str]:
    return {**o365.worker_env(), **FAST, **extra}


def ours(o365, **kwargs):
    return [
        e for e in o365.control.events(ADELE, calendar="Calendar", **kwargs) if e.transaction_id
    ]


def wait_settled(workers, *, timeout: float, what: str) -> None:
    def report() -> str:
        return f"{what}: {states()}\n" + "\n".join(w.output()[-3000:] for w in workers)

    try:
        wait_until(all_settled, timeout=timeout, interval=0.5)
    except AssertionError:
        raise AssertionError(report()) from None


def assert_exactly_once(o365, count: int) -> None:
    """``count`` rows, each with one live event in the sandbox, and no other event of ours."""
    rows = list(PushedEvent.objects.filter(wanted=True))
    assert len(rows) == count
    assert all(row.state == PushState.SYNCED for row in rows)
    made = ours(o365, include_deleted=True)
    assert not [e for e in made if e.deleted], "an event was made and then removed"
    assert len(made) == count
    assert len({e.transaction_id for e in made}) == count
    assert len({e.subject for e in made}) == count
    assert {e.id for e in made} == {row.remote_id for row in rows}
    assert {e.transaction_id for e in made} == {str(row.transaction_id) for row in rows}


def no_concurrency_refusals(o365) -> None:
    refused = [c for c in o365.control.request_log() if c.fault == "concurrency"]
    assert refused == [], f"{len(refused)} calls went over the mailbox's 4 concurrent calls"


def test_a_booking_appears_in_the_calendar_and_a_cancel_removes_it(
    client, adele, intro, o365, worker_factory
):
    client.post(f"/setup/integration/calendar/{adele.pk}/reminder/", {"reminder": "60"})
    worker = worker_factory(**worker_env(o365))
    start, end = offered(client, "intro", first=tomorrow())[20]

    [made] = book_starts(client, "intro", [start], name="Priya")

    [row] = rows_for(made["id"])
    wait_until(lambda: ours(o365), timeout=60, message=worker.output())
    [event] = ours(o365)
    assert event.subject == "Intro call with Priya 000"
    assert (event.is_reminder_on, event.reminder_minutes) == (True, 60)
    assert event.attendees == [
        {"name": "Priya 000", "address": "invitee000@example.com", "type": "required"}
    ]
    assert (event.start, event.end) == (datetime.fromisoformat(start), datetime.fromisoformat(end))
    assert event.time_zone == "GMT Standard Time"
    assert event.is_online_meeting
    wait_until(lambda: PushedEvent.objects.get(pk=row.pk).is_settled, timeout=30)

    client.post(made["cancel_url"], {"reason": "Something came up"})

    wait_until(lambda: not ours(o365), timeout=60, message=worker.output())
    [gone] = ours(o365, include_deleted=True)
    assert (gone.id, gone.deleted) == (event.id, True)
    wait_until(lambda: PushedEvent.objects.get(pk=row.pk).is_settled, timeout=30)

    # The logs name the task, the connection and the booking, and never a token.
    logs = worker.all_output()
    assert f"push_event row={row.pk} booking:{made['id']} connection={adele.pk}" in logs
    assert "calendars.tasks.push_event" in logs
    assert leaked_tokens(logs) == set()


def leaked_tokens(text: str) -> set[str]:
    from graph_sandbox.models import AccessToken, AuthorizationCode, RefreshToken

    hashes = set(AccessToken.objects.values_list("token_hash", flat=True))
    hashes |= set(RefreshToken.objects.values_list("token_hash", flat=True))
    hashes |= set(AuthorizationCode.objects.values_list("code_hash", flat=True))
    assert hashes, "the sandbox issued tokens"
    found = set()
    for candidate in TOKENISH.findall(text):
        for piece in {candidate, *re.split(r"[=+/]", candidate)}:
            if hashlib.sha256(piece.encode()).hexdigest() in hashes:
                found.add(piece[:12] + "…")
    return found


def test_a_hundred_bookings_under_thirty_percent_faults_make_exactly_a_hundred_events(
    client, adele, intro, o365, worker_factory, beat_factory
):
    o365.control.faults_set(
        kinds=("429", "503", "drop", "drop_after"), fraction=0.3, mailbox=ADELE, retry_after=1
    )
    env = worker_env(o365)
    # Six processes for one mailbox: more than its 4 concurrent calls.
    workers = [worker_factory(concurrency=3, **env), worker_factory(concurrency=3, **env)]
    beat_factory(**env)
    # A week out: the sandbox's demo tenant has Adele busy on the next few days (a
    # stand-up tomorrow at 09:30), and a sync by these workers landing between reading
    # the slots and booking them would rightly refuse that one.
    first = tomorrow() + timedelta(days=7)
    starts = [start for start, _ in offered(client, "intro", first=first, days=2)][:100]
    assert len(starts) == 100

    book_starts(client, "intro", starts)

    wait_settled(workers, timeout=150, what="100 bookings under faults")
    assert_exactly_once(o365, 100)
    faults = [c.fault for c in o365.control.request_log(path_prefix="/v1.0/me/calendars")]
    assert {"429", "503", "drop", "drop_after"} <= set(faults), "the faults really happened"
    no_concurrency_refusals(o365)


def test_bookings_sent_together_and_delivered_twice_still_push_exactly_once(
    client, adele, intro, o365, worker_factory, monkeypatch
):
    """Under load the publisher sends the bookings waiting for it as one bundle; each
    item claims its own row, so with Graph faults and every bundle delivered twice (as
    after a redelivery) each booking still makes exactly one event."""
    o365.control.faults_set(
        kinds=("429", "503", "drop", "drop_after"), fraction=0.3, mailbox=ADELE, retry_after=1
    )
    send, gate, bundles = dispatch.task_send, threading.Event(), []

    def held(name, *, args, countdown=None, options=None):  # the publisher, busy meanwhile
        assert gate.wait(60)
        if name == dispatch.BUNDLE_TASK:
            bundles.append((args, options))
        return send(name, args=args, countdown=countdown, options=options)

    monkeypatch.setattr(dispatch, "task_send", held)
    first = tomorrow() + timedelta(days=7)  # past the demo tenant's events (see above)
    starts = [start for start, _ in offered(client, "intro", first=first, days=2)][:20]
    book_starts(client, "intro", starts)
    gate.set()
    assert dispatch.publisher_drain(30)
    together = [{item[2] for item in args[0] if len(item) > 2} for args, _ in bundles]
    assert max(len(requests) for requests in together) > 1, "no bundle of several bookings"
    for args, options in bundles:  # each bundle a second time
        send(dispatch.BUNDLE_TASK, args=args, options=options)
    workers = [worker_factory(concurrency=4, **worker_env(o365))]

    wait_settled(workers, timeout=150, what="20 bookings in shared bundles, each sent twice")
    assert_exactly_once(o365, 20)
    no_concurrency_refusals(o365)


def test_a_worker_killed_mid_push_is_taken_over_and_still_pushes_exactly_once(
    client, adele, intro, o365, worker_factory, beat_factory
):
    # Slow calls, so the kill lands while pushes are in flight.
    o365.control.faults_set(latency_ms=150, mailbox=ADELE)
    o365.control.faults_set(kinds=("drop_after",), fraction=0.2, mailbox=ADELE, seed=6)
    env = worker_env(o365)
    starts = [start for start, _ in offered(client, "intro", first=tomorrow())][:30]
    book_starts(client, "intro", starts)
    # Started once all 30 pushes wait in the queue: on a loaded machine a worker
    # running while the bookings are made can finish them before anyone looks.
    first = worker_factory(concurrency=4, **env)

    def in_full_swing() -> bool:
        held = PushedEvent.objects.exclude(claimed_by="").count()
        return len(ours(o365)) >= 5 and held >= 2

    wait_until(in_full_swing, timeout=60, message=first.output())

    first.kill()

    assert PushedEvent.objects.exclude(claimed_by="").exists(), "killed holding pushes"
    assert [row for row in PushedEvent.objects.all() if not row.is_settled]
    second = worker_factory(concurrency=2, **env)
    beat = beat_factory(**env)  # its sweeper re-queues what the killed worker held
    wait_settled([second, beat], timeout=90, what="after SIGKILL")
    assert_exactly_once(o365, 30)
    assert "sweep_pushes: re-queued" in second.all_output()
    no_concurrency_refusals(o365)


def test_a_busy_event_hides_a_slot_after_one_sync_cycle_and_deleting_it_brings_it_back(
    client, adele, intro, o365, worker_factory
):
    worker = worker_factory(**worker_env(o365))
    calendar = Calendar.objects.get(name="Calendar")
    day = tomorrow()
    start, end = offered(client, "intro", first=day)[48]

    def one_cycle() -> None:
        before = Calendar.objects.get(pk=calendar.pk).last_synced_at
        started = timezone.now()
        tasks.sync_all_connections.delay()  # what beat runs every CALENDAR_SYNC_INTERVAL

        def synced():
            last = Calendar.objects.get(pk=calendar.pk).last_synced_at
            return last is not None and last != before and last >= started

        wait_until(synced, timeout=60, message=worker.output())

    def shown(expected: bool) -> None:
        # The sync commits the busy time, then bumps the page's availability version
        # (after the commit, by design): for that moment a cached answer may still be
        # served, so the slot's state is awaited briefly rather than read at once.
        wait_until(
            lambda: ((start, end) in offered(client, "intro", first=day)) is expected,
            timeout=10,
            message=f"slot offered should be {expected}",
        )

    one_cycle()
    assert (start, end) in offered(client, "intro", first=day)
    busy = o365.control.event_add(
        ADELE,
        subject="Dentist",
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
    )

    one_cycle()
    shown(False)

    o365.control.event_delete(ADELE, busy.id)
    one_cycle()
    shown(True)

    o365.control.event_add(
        ADELE,
        subject="Maybe",
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
        show_as="tentative",
    )
    one_cycle()
    shown(False)  # tentative blocks...
    intro.block_tentative = False
    intro.save()
    assert (start, end) in offered(client, "intro", first=day)  # ...while the page says so
    assert "sync_connection connection=" in worker.all_output()


def test_calendar_status_prints_one_line_per_connection(client, adele, intro, o365, capsys):
    starts = [start for start, _ in offered(client, "intro", first=tomorrow())][:2]
    book_starts(client, "intro", starts)  # no worker runs: both stay pending
    PushedEvent.objects.filter(pk=PushedEvent.objects.first().pk).update(state=PushState.FAILED)

    call_command("calendar_status")

    [line] = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(f"connection={adele.pk} host=alice@example.com account={ADELE} ")
    assert "status=connected" in line
    assert f"refresh_expires={adele.refresh_expires_at:%Y-%m-%dT%H:%M}Z" in line
    # The suite turns change notifications off where it does not prove them (conftest.py).
    assert line.endswith(
        "last_sync=never sync_errors=0 pending=1 waiting=0 failed=1 "
        "push=off(turned off by the operator (CALENDAR_NOTIFICATIONS=0))"
    )

    Calendar.objects.filter(name="Calendar").update(last_synced_at=timezone.now())
    client.post(f"/setup/integration/calendar/{adele.pk}/disconnect/")
    call_command("calendar_status")
    [line] = capsys.readouterr().out.strip().splitlines()
    assert "status=disconnected(host)" in line
    assert "(just now) sync_errors=0 pending=0 waiting=1 failed=1" in line
