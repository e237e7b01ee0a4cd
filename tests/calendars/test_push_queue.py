"""Backoff, mailbox slots, the sweeper and queueing on commit (no provider involved)."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calendars import dispatch
from calendars.models import Calendar, CalendarConnection, MailboxSlot, PushedEvent, PushState
from calendars.services import push_queue
from calendars.services.mailbox_slots import (
    MailboxBusy,
    mailbox_slot,
    mailbox_slot_release,
    mailbox_slot_take,
    mailbox_slots_busy,
)
from calendars.services.mirroring import event_mirror, event_unmirror
from outbox import dispatch as outbox_dispatch
from outbox.backoff import retry_delay
from tests.support.events import INTRO_CALL

EVENT = INTRO_CALL


# --- backoff --------------------------------------------------------------------------------


def test_backoff_is_full_jitter_under_an_exponential_ceiling_with_a_cap():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (6, 320), (7, 600), (30, 600)]:
        waits = [retry_delay(attempt=attempt, base=10, cap=600, rng=rng) for _ in range(300)]
        assert all(0 <= wait <= ceiling for wait in waits)
        # Spread over the whole range, not bunched at the top (that is the point of jitter).
        assert min(waits) < ceiling * 0.1
        assert max(waits) > ceiling * 0.9


def test_backoff_never_comes_before_retry_after():
    rng = random.Random(1)
    waits = [retry_delay(attempt=1, retry_after=30, base=10, cap=600, rng=rng) for _ in range(50)]
    assert min(waits) == 30
    assert retry_delay(attempt=9, retry_after=5, base=10, cap=600, rng=random.Random(3)) >= 5


# --- mailbox slots -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_mailbox_has_four_slots_across_all_workers():
    holders = [mailbox_slot_take(mailbox="office365:a") for _ in range(4)]
    assert None not in holders
    assert len(set(holders)) == 4
    assert mailbox_slot_take(mailbox="office365:a") is None
    assert mailbox_slot_take(mailbox="office365:b") is not None  # another mailbox
    assert mailbox_slots_busy(mailbox="office365:a") == 4

    mailbox_slot_release(mailbox="office365:a", holder=holders[2])
    assert mailbox_slot_take(mailbox="office365:a") is not None


@pytest.mark.django_db
def test_a_dead_workers_slot_frees_itself_when_its_lease_passes(settings):
    settings.CALENDAR_TASK_LEASE = 60
    past = timezone.now() - timedelta(seconds=61)
    for _ in range(4):
        assert mailbox_slot_take(mailbox="office365:a", now=past)
    assert mailbox_slot_take(mailbox="office365:a") is not None


@pytest.mark.django_db
def test_the_slot_is_given_back_when_the_work_fails(settings):
    settings.CALENDAR_MAILBOX_CONCURRENCY = 1

    def work_that_fails():
        with mailbox_slot(mailbox="office365:a"):
            with pytest.raises(MailboxBusy), mailbox_slot(mailbox="office365:a"):
                pass
            raise RuntimeError("the push failed")

    with pytest.raises(RuntimeError):
        work_that_fails()
    with mailbox_slot(mailbox="office365:a"):
        assert mailbox_slots_busy(mailbox="office365:a") == 1


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_slot_is_taken_in_one_statement_however_many_are_busy_on_postgresql():
    """Not one UPDATE per busy slot tried on the way (slots 0, 1, 2 … in turn): with three
    of four held, the fourth takes one statement; with all four, the answer "busy"
    takes one (and the rows' INSERT … ON CONFLICT, and one more look)."""
    for _ in range(3):
        assert mailbox_slot_take(mailbox="office365:a")
    with CaptureQueriesContext(connection) as fourth:
        assert mailbox_slot_take(mailbox="office365:a")
    assert len(fourth.captured_queries) == 1
    with CaptureQueriesContext(connection) as fifth:
        assert mailbox_slot_take(mailbox="office365:a") is None
    assert len(fifth.captured_queries) == 3
    assert mailbox_slots_busy(mailbox="office365:a") == 4
    # A lower limit than there are rows: only the slots under it count.
    MailboxSlot.objects.filter(mailbox="office365:a", slot__gte=2).update(
        holder="", leased_until=None
    )
    assert mailbox_slot_take(mailbox="office365:a", limit=2) is None
    assert mailbox_slot_take(mailbox="office365:a", limit=3) is not None
    assert MailboxSlot.objects.get(mailbox="office365:a", slot=3).holder == ""


@pytest.mark.postgres
def test_a_slot_another_worker_is_taking_is_passed_by_not_waited_on(transactional_db):
    """Slot 0's row locked by another worker's statement (here: held open for 3 s): a
    take does not wait for it, it takes slot 1 at once."""
    assert mailbox_slot_take(mailbox="office365:a")  # makes the rows; slot 0 held
    MailboxSlot.objects.filter(mailbox="office365:a").update(holder="", leased_until=None)
    locked, done = threading.Event(), threading.Event()

    def lock_slot_zero() -> None:
        try:
            with transaction.atomic():
                MailboxSlot.objects.select_for_update().get(mailbox="office365:a", slot=0)
                locked.set()
                done.wait(3)
        finally:
            connections.close_all()

    other = threading.Thread(target=lock_slot_zero)
    other.start()
    assert locked.wait(10)
    started = time.monotonic()
    holder = mailbox_slot_take(mailbox="office365:a")
    waited = time.monotonic() - started
    done.set()
    other.join(10)
    assert waited < 1.5
    assert MailboxSlot.objects.get(mailbox="office365:a", slot=1).holder == holder


@pytest.mark.postgres
def _race(mailbox: str, workers: int) -> list[str | None]:
    """``workers`` threads taking a slot of ``mailbox`` at the same moment: their holders."""
    barrier = threading.Barrier(workers)
    holders: list[str | None] = []

    def take() -> None:
        try:
            barrier.wait()
            holders.append(mailbox_slot_take(mailbox=mailbox))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return holders


@pytest.mark.postgres
def test_eight_workers_taking_at_once_get_four_slots_on_postgresql(transactional_db):
    for round_ in range(5):
        mailbox = f"office365:race{round_}"
        holders = _race(mailbox, 8)
        taken = [holder for holder in holders if holder]
        assert len(holders) == 8
        assert len(taken) == len(set(taken)) == 4
        assert mailbox_slots_busy(mailbox=mailbox) == 4


# --- queueing ------------------------------------------------------------------------------


def _capture_sends(monkeypatch, record) -> None:
    """Tasks sent to the broker go to ``record(name, args)``, sent in this thread at commit."""
    monkeypatch.setattr(outbox_dispatch, "PUBLISH_IN_BACKGROUND", False)
    monkeypatch.setattr(
        outbox_dispatch,
        "task_send",
        lambda name, *, args, countdown=None: record(name, args) or True,
    )


@pytest.fixture
def queued(monkeypatch):
    """The pushes sent to the broker, by row id (the sending itself is proven by worker tests)."""
    sent: list[int] = []
    _capture_sends(monkeypatch, lambda name, args: sent.append(args[0]))
    return sent


@pytest.fixture
def calendar(host):
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    return Calendar.objects.create(connection=connection, remote_id="AAA", name="Calendar")


@pytest.mark.django_db
def test_changed_rows_are_queued_only_when_the_transaction_commits(
    host, calendar, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [row] = event_mirror(host=host, source="booking:1", event=EVENT, calendars=[calendar])
        assert queued == []  # not before the commit
    assert len(callbacks) == 1
    assert queued == [row.pk]

    with django_capture_on_commit_callbacks(execute=True):
        event_mirror(host=host, source="booking:1", event=EVENT, calendars=[calendar])
    assert queued == [row.pk]  # unchanged: nothing queued

    with django_capture_on_commit_callbacks(execute=True):
        event_unmirror(source="booking:1")
    assert queued == [row.pk, row.pk]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_booking_queues_nothing(host, calendar, queued):
    from django.db import transaction

    def booking_that_fails():
        with transaction.atomic():
            event_mirror(host=host, source="booking:1", event=EVENT, calendars=[calendar])
            raise RuntimeError("the booking failed")

    with pytest.raises(RuntimeError):
        booking_that_fails()
    assert queued == []
    assert not PushedEvent.objects.exists()


@pytest.mark.django_db
def test_rows_waiting_for_a_disconnected_account_are_not_queued(
    host, calendar, queued, django_capture_on_commit_callbacks
):
    CalendarConnection.objects.update(status="disconnected")
    with django_capture_on_commit_callbacks(execute=True):
        [row] = event_mirror(host=host, source="booking:1", event=EVENT, calendars=[calendar])
    assert row.state == PushState.WAITING
    assert queued == []


# --- the sweeper ---------------------------------------------------------------------------


def _row(host, calendar, source: str, **fields) -> PushedEvent:
    return PushedEvent.objects.create(
        host=host, calendar=calendar, source=source, payload=EVENT.to_json(), **fields
    )


@pytest.mark.django_db
def test_the_sweeper_requeues_only_lost_pushes(host, calendar, queued, settings):
    settings.CALENDAR_REQUEUE_AFTER = 300
    now = timezone.now()
    long_ago, soon = now - timedelta(minutes=10), now + timedelta(minutes=1)
    lost = _row(host, calendar, "never-queued")
    killed = _row(
        host, calendar, "killed", claimed_until=now - timedelta(seconds=1), queued_at=long_ago
    )
    due_retry = _row(
        host, calendar, "due", next_attempt_at=now - timedelta(minutes=6), queued_at=long_ago
    )
    _row(host, calendar, "fresh", queued_at=now - timedelta(seconds=5))
    _row(host, calendar, "working", claimed_until=soon, queued_at=long_ago)
    _row(host, calendar, "retry-later", next_attempt_at=soon, queued_at=soon)
    _row(host, calendar, "done", state=PushState.SYNCED, queued_at=long_ago)
    _row(host, calendar, "gave-up", state=PushState.FAILED, queued_at=long_ago)

    swept = push_queue.pushes_sweep(now=now)

    assert sorted(swept) == sorted([lost.pk, killed.pk, due_retry.pk])
    assert sorted(queued) == sorted(swept)
    # Queued just now: the next sweep leaves them alone.
    assert push_queue.pushes_sweep(now=now + timedelta(seconds=30)) == []


@pytest.mark.django_db
def test_the_sweeper_wakes_pushes_whose_account_is_connected_again(host, calendar, queued):
    waiting = _row(host, calendar, "waited", state=PushState.WAITING, attempts=3)
    assert push_queue.pushes_sweep() == [waiting.pk]
    waiting.refresh_from_db()
    assert (waiting.state, waiting.attempts) == (PushState.PENDING, 0)

    CalendarConnection.objects.update(status="disconnected")
    _row(host, calendar, "stranded")
    assert push_queue.pushes_sweep() == []
    assert set(PushedEvent.objects.values_list("state", flat=True)) == {PushState.WAITING}


# --- what queues a busy-time sync ----------------------------------------------------------------


@pytest.fixture
def sent_tasks(monkeypatch):
    sent: list[tuple[str, list]] = []
    _capture_sends(monkeypatch, lambda name, args: sent.append((name, args)))
    return sent


@pytest.mark.django_db
def test_connecting_and_changing_busy_calendars_queue_a_sync_at_once(
    host, fake_microsoft, sent_tasks, django_capture_on_commit_callbacks
):
    from booking.services.pages import page_calendars_set, page_create

    page = page_create(host=host, fields={"title": "Intro", "slug": "intro"})
    assert sent_tasks == []  # no calendar connected yet

    with django_capture_on_commit_callbacks(execute=True):
        connection = fake_microsoft.connect(host).connection
    assert (dispatch.SYNC_TASK, [connection.pk]) in sent_tasks

    page.refresh_from_db()
    work = Calendar.objects.get(name="Client work")
    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        page_calendars_set(
            page=page, main_calendar=page.main_calendar, uses={work.pk: (True, False)}
        )
    assert sent_tasks == [(dispatch.SYNC_TASK, [connection.pk])]

    sent_tasks.clear()
    with django_capture_on_commit_callbacks(execute=True):
        page_calendars_set(
            page=page, main_calendar=page.main_calendar, uses={work.pk: (True, False)}
        )
    assert sent_tasks == []  # nothing changed
