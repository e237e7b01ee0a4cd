"""Invitee reminders on a controlled clock: planned, re-planned, stopped, sent exactly once."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connections

from booking import reminders
from booking.events import Actor
from booking.locales import time_text
from booking.models import InviteeReminder, ReminderState
from booking.reminders import reminder_send, reminders_dispatch
from booking.services.bookings import Invitee, booking_cancel, booking_create, booking_reschedule
from calendars.models import PushedEvent
from outbox.claims import claim_take
from outbox.outcomes import Status
from tests.support.booking import at, workday
from tests.support.interleave import selects_from, write_after_query, write_before_query

DANA = Invitee("Dana Invitee", "dana@example.com", "Asia/Kolkata")
MINUTE = timedelta(minutes=1)


def _book(page, *, days_ahead=3, hour=10, now=None):
    return booking_create(
        page=page, start=at(workday("Europe/London", days_ahead=days_ahead), hour), invitee=DANA
    )


def _rows(booking) -> dict[int, InviteeReminder]:
    return {row.offset_minutes: row for row in InviteeReminder.objects.filter(booking=booking)}


def _dispatch(now) -> list[int]:
    queued: list[int] = []
    reminders_dispatch(now=now, send=queued.append)
    return queued


@pytest.mark.django_db
def test_a_new_page_reminds_a_day_and_an_hour_before(page):
    booking = _book(page)
    rows = _rows(booking)
    assert sorted(rows) == [60, 1440]
    assert rows[1440].due_at == booking.start - timedelta(days=1)
    assert rows[60].due_at == booking.start - timedelta(hours=1)
    assert {row.state for row in rows.values()} == {ReminderState.PENDING}


@pytest.mark.django_db
def test_each_reminder_goes_at_its_moment_once(page):
    booking = _book(page)
    rows = _rows(booking)
    day_before = rows[1440].due_at
    assert _dispatch(day_before - MINUTE) == []
    assert _dispatch(day_before) == [rows[1440].pk]
    assert _dispatch(day_before + MINUTE) == []  # queued lately: left to its task
    assert reminder_send(reminder_id=rows[1440].pk, now=day_before).status == Status.SYNCED
    assert reminder_send(reminder_id=rows[1440].pk, now=day_before).status == Status.SKIPPED
    (message,) = mail.outbox
    assert message.to == ["dana@example.com"]
    assert "Reminder: Intro call with Alice Host" in message.subject
    assert "India Time \u2014 Kolkata (UTC+5:30)" in message.body
    assert "Asia/Kolkata" not in message.body
    local = booking.start.astimezone(ZoneInfo("Asia/Kolkata"))
    assert time_text(local, booking.invitee_locale) in message.body
    assert "/reschedule/" in message.body
    assert "/cancel/" in message.body
    hour_before = rows[60].due_at
    assert _dispatch(hour_before) == [rows[60].pk]
    reminder_send(reminder_id=rows[60].pk, now=hour_before)
    assert len(mail.outbox) == 2
    assert _dispatch(booking.start + MINUTE) == []


@pytest.mark.django_db
def test_the_email_carries_the_join_link_once_outlook_made_one(page, calendars):
    booking = _book(page)
    PushedEvent.objects.filter(source=booking.mirror_source).update(
        online_meeting_url="https://teams.example/l/meetup-join/1"
    )
    row = _rows(booking)[60]
    reminder_send(reminder_id=row.pk, now=row.due_at)
    assert "Join:  https://teams.example/l/meetup-join/1" in mail.outbox[0].body


@pytest.mark.django_db
def test_offsets_come_from_the_page(page):
    page.reminder_offsets = [15, 120, 2880]
    page.save()
    assert sorted(_rows(_book(page, days_ahead=4))) == [15, 120, 2880]
    page.reminder_offsets = []
    page.save()
    assert _rows(_book(page, days_ahead=4, hour=12)) == {}


@pytest.mark.django_db
def test_a_move_re_plans_and_the_old_plan_is_never_sent(page):
    booking = _book(page)
    old = _rows(booking)
    moved = booking_reschedule(booking=booking, start=booking.start + timedelta(days=1))
    for row in old.values():
        row.refresh_from_db()
        assert row.state == ReminderState.SKIPPED
        assert row.skip_reason == reminders.SKIP_MOVED
    new = {
        row.offset_minutes: row
        for row in InviteeReminder.objects.filter(booking=booking, booking_version=1)
    }
    assert new[60].due_at == moved.start - timedelta(hours=1)
    assert _dispatch(old[1440].due_at) == []
    assert reminder_send(reminder_id=old[1440].pk, now=old[1440].due_at).status == Status.SKIPPED
    assert mail.outbox == []


def _claims_a_reminder(sql: str) -> bool:
    """A worker's claim of a reminder row: its UPDATE (on PostgreSQL the WITH that holds
    the UPDATE and reads the row taken)."""
    return "booking_inviteereminder" in sql and sql.lstrip().startswith(("UPDATE", "WITH"))


@pytest.mark.django_db
def test_a_reminder_claimed_before_the_move_is_not_sent_for_the_old_time(page):
    booking = _book(page)
    row = _rows(booking)[1440]
    # The row was queued; the move commits after the worker claimed the row, before it reads
    # it. On PostgreSQL the claim and its read are one statement: nothing commits between
    # them, so the move lands right before it.
    on_postgresql = connections["default"].vendor == "postgresql"
    interleave = write_before_query if on_postgresql else write_after_query
    with interleave(
        _claims_a_reminder,
        lambda: booking_reschedule(booking=booking, start=booking.start + timedelta(days=1)),
    ) as matched:
        outcome = reminder_send(reminder_id=row.pk, now=row.due_at)
    assert matched
    assert outcome.status == Status.SKIPPED
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["move", "cancel"])
def test_a_booking_changed_while_its_reminder_is_written_gets_no_reminder(page, change):
    booking = _book(page)
    row = _rows(booking)[1440]
    if change == "move":
        write = lambda: booking_reschedule(booking=booking, start=booking.start + timedelta(days=1))  # noqa: E731
    else:
        write = lambda: booking_cancel(booking=booking, actor=Actor.INVITEE)  # noqa: E731
    # The worker claimed and read the row and its booking; while it writes the email (it
    # reads the join link), the invitee moves or cancels the meeting.
    with write_after_query(selects_from("calendars_pushedevent"), write) as matched:
        outcome = reminder_send(reminder_id=row.pk, now=row.due_at)
    assert matched
    assert outcome.status == Status.SKIPPED
    assert mail.outbox == []
    row.refresh_from_db()
    assert row.state == ReminderState.SKIPPED


@pytest.mark.django_db
def test_cancel_stops_every_reminder(page):
    booking = _book(page)
    rows = _rows(booking)
    booking_cancel(booking=booking, actor=Actor.INVITEE)
    assert {row.state for row in InviteeReminder.objects.filter(booking=booking)} == {
        ReminderState.SKIPPED
    }
    assert _dispatch(rows[60].due_at) == []
    assert reminder_send(reminder_id=rows[60].pk, now=rows[60].due_at).status == Status.SKIPPED
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_booking_made_after_a_reminders_moment_skips_it(page):
    start = at(workday("Europe/London", days_ahead=3), 10)
    booked_at = start - timedelta(minutes=90)
    booking = booking_create(page=page, start=start, invitee=DANA, now=booked_at)
    rows = _rows(booking)
    assert rows[1440].state == ReminderState.SKIPPED
    assert rows[1440].skip_reason == reminders.SKIP_TOO_LATE
    assert rows[60].state == ReminderState.PENDING
    assert _dispatch(booked_at + MINUTE) == []
    assert _dispatch(rows[60].due_at) == [rows[60].pk]
    reminders.reminders_plan(booking=booking, now=booked_at)  # planning again changes nothing
    assert InviteeReminder.objects.filter(booking=booking).count() == 2


@pytest.mark.django_db
def test_after_downtime_only_the_latest_due_reminder_goes_late_once(page):
    booking = _book(page)
    rows = _rows(booking)
    back = booking.start - timedelta(minutes=30)  # beat and workers were down for a day
    queued = _dispatch(back)
    assert sorted(queued) == sorted([rows[60].pk, rows[1440].pk])
    for pk in queued:
        reminder_send(reminder_id=pk, now=back)
    assert len(mail.outbox) == 1
    rows[1440].refresh_from_db()
    assert rows[1440].skip_reason == reminders.SKIP_SUPERSEDED
    rows[60].refresh_from_db()
    assert rows[60].state == ReminderState.SENT
    assert _dispatch(back + timedelta(minutes=5)) == []


@pytest.mark.django_db
def test_after_downtime_the_order_of_the_tasks_does_not_matter(page):
    booking = _book(page)
    rows = _rows(booking)
    back = booking.start - timedelta(minutes=30)
    reminder_send(reminder_id=rows[60].pk, now=back)
    reminder_send(reminder_id=rows[1440].pk, now=back)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_never_after_the_start(page):
    booking = _book(page)
    row = _rows(booking)[60]
    assert reminder_send(reminder_id=row.pk, now=booking.start + MINUTE).status == Status.SKIPPED
    row.refresh_from_db()
    assert row.skip_reason == reminders.SKIP_STARTED
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_refused_send_is_retried_but_never_past_the_start(page, monkeypatch):
    booking = _book(page)
    row = _rows(booking)[60]

    class Refused:
        def send(self):
            raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(reminders, "_reminder_email", lambda booking: Refused())
    first = reminder_send(reminder_id=row.pk, now=row.due_at)
    assert (first.status, first.retry_in) == (Status.RETRY, 30)
    late = booking.start - timedelta(seconds=100)
    row.refresh_from_db()
    InviteeReminder.objects.filter(pk=row.pk).update(next_attempt_at=late)
    assert reminder_send(reminder_id=row.pk, now=late).status == Status.FAILED
    row.refresh_from_db()
    assert row.state == ReminderState.FAILED


@pytest.mark.django_db
def test_a_worker_that_died_holding_the_row_is_taken_over_after_its_lease(page):
    page.reminder_offsets = [60]
    page.save()
    booking = _book(page)
    row = _rows(booking)[60]
    dead = claim_take(
        items=InviteeReminder.objects.all(), pk=row.pk, lease_seconds=120, now=row.due_at
    )
    assert dead is not None
    assert reminder_send(reminder_id=row.pk, now=row.due_at + MINUTE).status == Status.SKIPPED
    assert _dispatch(row.due_at + MINUTE) == []  # held
    after = row.due_at + timedelta(minutes=3)
    assert _dispatch(after) == [row.pk]
    assert reminder_send(reminder_id=row.pk, now=after).status == Status.SYNCED
    assert reminder_send(reminder_id=row.pk, now=after).status == Status.SKIPPED  # redelivered
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_second_worker_that_claims_while_the_first_sends_sends_nothing(page):
    booking = _book(page)
    row = _rows(booking)[60]
    second = []
    with write_after_query(
        _claims_a_reminder,
        lambda: second.append(reminder_send(reminder_id=row.pk, now=row.due_at)),
    ):
        first = reminder_send(reminder_id=row.pk, now=row.due_at)
    assert first.status == Status.SYNCED
    assert second[0].status == Status.SKIPPED
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_workers_send_once(page):
    booking = _book(page)
    rows = _rows(booking)
    for offset, row in rows.items():
        barrier = threading.Barrier(4)
        outcomes: list[str] = []

        def work(row=row, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                outcomes.append(reminder_send(reminder_id=row.pk, now=row.due_at).status)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == sorted([Status.SYNCED] + [Status.SKIPPED] * 3), offset
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_changing_the_pages_offsets_re_plans_its_meetings_to_come(page):
    from booking.selectors import weekly_ranges_for
    from booking.services.pages import page_update

    booking = _book(page)
    hours = [
        (day, start, end)
        for day, ranges in weekly_ranges_for(page=page).items()
        for start, end in ranges
    ]
    page_update(
        page=page, fields={"reminder_offsets": [60, 15]}, hours=hours, overrides=[], questions=[]
    )
    rows = _rows(booking)
    assert rows[1440].state == ReminderState.SKIPPED
    assert rows[1440].skip_reason == reminders.SKIP_REMOVED
    assert rows[60].state == ReminderState.PENDING
    assert rows[15].state == ReminderState.PENDING
    assert rows[15].due_at == booking.start - timedelta(minutes=15)
    assert _dispatch(rows[1440].due_at) == []
