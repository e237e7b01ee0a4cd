"""The event push against the Graph sandbox over HTTPS, one attempt at a time.

Bookings are made through the public API; the push service (what the worker's
task runs) is called here directly so each attempt and its outcome can be
inspected. ``test_workers.py`` runs the same code in real worker processes.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from booking.models import BookingPage, PageCalendar
from calendars import crypto
from calendars.error_text import error_shown
from calendars.models import Calendar, CalendarConnection, ConnectionStatus, PushedEvent, PushState
from calendars.services.push import pushed_event_push
from calendars.services.push_queue import pushes_lost
from calendars.tasks import push_event
from outbox import dispatch as outbox_dispatch
from tests.support.office365 import (
    ADELE,
    MEGAN,
    book_starts,
    connect_host,
    offered,
    rows_for,
    tomorrow,
)

pytestmark = pytest.mark.slow


def book_one(client, *, index: int = 0, answers=None) -> tuple[dict, PushedEvent]:
    start, _ = offered(client, "intro", first=tomorrow())[index]
    [made] = book_starts(client, "intro", [start])
    [row] = rows_for(made["id"])
    return made, row


def confirmations_sent() -> None:
    """Send the pending confirmation emails now, before the push: the join link then comes
    too late for them, in an email of its own."""
    from booking.email_outbox import booking_emails_deliver
    from booking.models import BookingEmail

    for row in BookingEmail.objects.filter(kind="confirmed", state="pending"):
        assert booking_emails_deliver(email_id=row.pk).status == "synced"


def push(row: PushedEvent) -> str:
    """One attempt, as the worker makes it (``now`` past any retry delay)."""
    PushedEvent.objects.filter(pk=row.pk).update(next_attempt_at=None)
    return pushed_event_push(pushed_event_id=row.pk).status


def events(o365, *, calendar: str = "Calendar", **kwargs):
    return o365.control.events(ADELE, calendar=calendar, **kwargs)


def ours(o365, **kwargs):
    """Sandbox events made by our pushes (the demo mailbox has seeded events too)."""
    return [e for e in events(o365, **kwargs) if e.transaction_id]


def calendar_of(connection: CalendarConnection, name: str) -> Calendar:
    return connection.calendars.get(name=name)


def test_a_booking_becomes_one_event_with_reminder_attendee_times_and_teams(
    client, adele, intro, o365
):
    client.post(reverse("calendars:reminder", args=[adele.pk]), {"reminder": "30"})
    made, row = book_one(client)
    assert row.state == PushState.PENDING

    assert push(row) == "synced"

    [event] = ours(o365)
    row.refresh_from_db()
    assert (row.state, row.synced_version, row.remote_id) == (PushState.SYNCED, 1, event.id)
    assert event.transaction_id == str(row.transaction_id)
    assert event.subject == "Intro call with Invitee 000"
    assert event.attendees == [
        {"name": "Invitee 000", "address": "invitee000@example.com", "type": "required"}
    ]
    assert (event.is_reminder_on, event.reminder_minutes) == (True, 30)
    assert event.start == datetime.fromisoformat(made["start"])
    assert event.end == datetime.fromisoformat(made["end"])
    assert event.time_zone == "GMT Standard Time"  # the page's zone, Europe/London
    assert event.is_online_meeting
    assert event.join_url
    assert event.location == "Microsoft Teams meeting"  # never empty, as Outlook writes it
    assert made["cancel_url"] in event.body
    assert made["reschedule_url"] in event.body
    # Settled: another run sends nothing.
    before = o365.control.request_log()[-1].id
    assert push(row) == "skipped"
    assert o365.control.request_log(after_id=before) == []


def test_no_reminder_turns_the_reminder_off(client, adele, intro, o365):
    client.post(reverse("calendars:reminder", args=[adele.pk]), {"reminder": ""})
    _, row = book_one(client)
    push(row)
    [event] = ours(o365)
    assert event.is_reminder_on is False


def test_reschedule_patches_the_same_event_and_cancel_deletes_it(client, adele, intro, o365):
    made, row = book_one(client)
    push(row)
    [created] = ours(o365)
    new_start, new_end = offered(client, "intro", first=tomorrow())[5]

    moved = client.post(made["reschedule_url"], {"start": new_start})
    assert moved.status_code == 302
    assert push(row) == "synced"
    [event] = ours(o365)
    assert event.id == created.id
    assert event.start == datetime.fromisoformat(new_start)
    assert event.end == datetime.fromisoformat(new_end)

    client.post(made["cancel_url"], {"reason": ""})
    assert push(row) == "synced"
    assert ours(o365) == []
    [deleted] = ours(o365, include_deleted=True)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    row.refresh_from_db()
    assert (row.wanted, row.remote_id, row.state) == (False, "", PushState.SYNCED)


def test_deleting_an_event_the_host_already_deleted_counts_as_done(client, adele, intro, o365):
    made, row = book_one(client)
    push(row)
    [event] = ours(o365)
    o365.control.event_delete(ADELE, event.id)
    client.post(made["cancel_url"], {"reason": ""})
    assert push(row) == "synced"


def test_a_create_whose_answer_was_lost_is_not_made_twice(client, adele, intro, o365):
    o365.control.faults_set(kinds=("drop_after",), mailbox=ADELE, times=1)
    _, row = book_one(client)

    assert push(row) == "retry"  # the sandbox made the event, then dropped the connection
    row.refresh_from_db()
    assert (row.state, row.attempts, row.remote_id) == (PushState.PENDING, 1, "")
    assert row.next_attempt_at is not None
    assert "dropped" in error_shown(row.last_error)
    assert len(ours(o365)) == 1

    assert push(row) == "synced"
    [event] = ours(o365, include_deleted=True)
    row.refresh_from_db()
    assert row.remote_id == event.id


def test_a_lost_create_then_a_reschedule_ends_as_one_event_at_the_new_time(
    client, adele, intro, o365
):
    o365.control.faults_set(kinds=("drop_after",), mailbox=ADELE, times=1)
    made, row = book_one(client)
    assert push(row) == "retry"
    new_start, _ = offered(client, "intro", first=tomorrow())[7]
    assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302

    # The retry repeats the very create that was lost (same body: the same event comes
    # back), then moves it.
    assert push(row) == "synced"

    [event] = ours(o365, include_deleted=True)
    assert event.start == datetime.fromisoformat(new_start)


def test_a_key_used_for_another_request_is_resolved_through_calendar_view(
    client, adele, intro, o365
):
    o365.control.faults_set(kinds=("drop_after",), mailbox=ADELE, times=1)
    _, row = book_one(client)
    assert push(row) == "retry"
    # As if that lost create had been sent with another reminder: Graph refuses the key
    # for a different request (ErrorDuplicateTransactionId).
    row.refresh_from_db()
    PushedEvent.objects.filter(pk=row.pk).update(
        create_request={**row.create_request, "reminder_minutes": 5}
    )
    before = o365.control.request_log()[-1].id

    assert push(row) == "synced"

    calls = [
        (c.method, c.path.rsplit("/", 1)[-1], c.status)
        for c in o365.control.request_log(after_id=before)
    ]
    assert calls == [
        ("POST", "events", 400),
        ("GET", "calendarView", 200),
        # A Teams event's body is read before it is updated (its meeting stays in it).
        ("GET", calls[-1][1], 200),
        ("PATCH", calls[-1][1], 200),
    ]
    [event] = ours(o365, include_deleted=True)
    row.refresh_from_db()
    assert row.remote_id == event.id


def test_a_lost_create_of_an_event_the_host_then_deleted_is_made_again(client, adele, intro, o365):
    o365.control.faults_set(kinds=("drop_after",), mailbox=ADELE, times=1)
    _, row = book_one(client)
    assert push(row) == "retry"
    [lost] = ours(o365)
    o365.control.event_delete(ADELE, lost.id)
    old_key = row.transaction_id

    assert push(row) == "synced"

    [event] = ours(o365)
    row.refresh_from_db()
    assert row.transaction_id != old_key
    assert (event.transaction_id, event.id) == (str(row.transaction_id), row.remote_id)


def test_an_event_deleted_in_outlook_is_made_again_when_the_booking_moves(
    client, adele, intro, o365
):
    made, row = book_one(client)
    push(row)
    [first] = ours(o365)
    o365.control.event_delete(ADELE, first.id)
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    client.post(made["reschedule_url"], {"start": new_start})

    assert push(row) == "synced"

    [event] = ours(o365)
    assert event.id != first.id
    assert event.start == datetime.fromisoformat(new_start)


def test_a_move_while_the_mailbox_lost_its_licence_is_never_made_twice(client, adele, intro, o365):
    # Graph's 404 MailboxNotEnabledForRESTAPI is about the mailbox, not the event: made
    # again under a new key, the event would be there twice once the licence is back.
    made, row = book_one(client)
    push(row)
    [first] = ours(o365)
    o365.control.faults_set(kinds=("unlicensed",), mailbox=ADELE)
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    client.post(made["reschedule_url"], {"start": new_start})

    assert push(row) == "failed"
    row.refresh_from_db()
    assert (row.remote_id, str(row.transaction_id)) == (first.id, first.transaction_id)
    assert error_shown(row.last_error).startswith("Office 365 cannot open this account's mailbox")

    o365.control.faults_clear()
    client.post(reverse("calendars:push_retry", args=[row.pk]))
    assert push(row) == "synced"
    [event] = ours(o365)
    assert event.id == first.id
    assert event.start == datetime.fromisoformat(new_start)


def test_a_cancel_while_the_mailbox_lost_its_licence_is_not_taken_as_done(
    client, adele, intro, o365
):
    made, row = book_one(client)
    push(row)
    o365.control.faults_set(kinds=("unlicensed",), mailbox=ADELE)
    client.post(made["cancel_url"], {"reason": ""})

    assert push(row) == "failed"
    assert len(ours(o365)) == 1

    o365.control.faults_clear()
    client.post(reverse("calendars:push_retry", args=[row.pk]))
    assert push(row) == "synced"
    assert ours(o365) == []


def test_cancelling_after_a_lost_create_finds_and_deletes_the_event(client, adele, intro, o365):
    o365.control.faults_set(kinds=("drop_after",), mailbox=ADELE, times=1)
    made, row = book_one(client)
    assert push(row) == "retry"
    client.post(made["cancel_url"], {"reason": ""})

    assert push(row) == "synced"

    assert ours(o365) == []
    assert len(ours(o365, include_deleted=True)) == 1


def test_a_lost_create_no_longer_wanted_keeps_its_key_so_it_is_never_made_twice(
    client, adele, intro, o365
):
    o365.control.faults_set(kinds=("drop_after",), mailbox=ADELE, times=1)
    made, row = book_one(client)
    assert push(row) == "retry"  # the sandbox made the event, then dropped the connection
    [lost] = ours(o365)
    key = row.transaction_id
    # The host drags it to another day in Outlook, away from where it was made.
    day = timedelta(days=1)
    o365.control.event_move(ADELE, lost.id, start=lost.start + day, end=lost.end + day)

    # The page's bookings now go to Adele's "Personal" calendar, and the invitee moves hers.
    BookingPage.objects.filter(pk=intro.pk).update(main_calendar=calendar_of(adele, "Personal"))
    slots = offered(client, "intro", first=tomorrow())
    assert client.post(made["reschedule_url"], {"start": slots[4][0]}).status_code == 302
    # No longer wanted in "Calendar", and nothing of ours where the create was sent.
    assert push(row) == "synced"
    row.refresh_from_db()
    assert (row.wanted, row.transaction_id) == (False, key)

    # Back to "Calendar", and the invitee moves the booking again: wanted there once more.
    BookingPage.objects.filter(pk=intro.pk).update(main_calendar=calendar_of(adele, "Calendar"))
    assert client.post(made["reschedule_url"], {"start": slots[8][0]}).status_code == 302
    assert push(row) == "synced"

    # The same request under the same key brought back the event it made, then moved it.
    [event] = ours(o365)
    row.refresh_from_db()
    assert (event.id, row.remote_id) == (lost.id, lost.id)
    assert event.start == datetime.fromisoformat(slots[8][0])


def test_cancelling_after_the_host_deleted_the_calendar_in_outlook_counts_as_done(
    client, adele, intro, o365
):
    personal = calendar_of(adele, "Personal")
    PageCalendar.objects.create(page=intro, calendar=personal, add_bookings=True)
    starts = [start for start, _ in offered(client, "intro", first=tomorrow())[2:4]]
    bookings = book_starts(client, "intro", starts)
    known, lost = [
        PushedEvent.objects.get(source=f"booking:{b['id']}", calendar=personal) for b in bookings
    ]
    assert push(known) == "synced"  # its event id is known
    o365.control.faults_set(kinds=("drop_after",), mailbox=ADELE, times=1)
    assert push(lost) == "retry"  # its event was made, the answer lost
    assert len(ours(o365, calendar="Personal")) == 2

    # The host deletes the whole calendar in Outlook: both events go with it (Graph: 404).
    o365.control.calendar_delete(ADELE, "Personal")
    for booking in bookings:
        assert client.post(booking["cancel_url"], {"reason": ""}).status_code == 302

    assert push(known) == "synced"
    assert push(lost) == "synced"
    page = client.get(reverse("calendars:integration")).content.decode()
    assert "Bookings not updated in your calendar" not in page


def test_cancelling_after_a_create_that_never_happened_sends_no_delete(client, adele, intro, o365):
    o365.control.faults_set(kinds=("drop",), mailbox=ADELE, times=1)
    made, row = book_one(client)
    assert push(row) == "retry"
    client.post(made["cancel_url"], {"reason": ""})
    before = o365.control.request_log()[-1].id

    assert push(row) == "synced"

    assert [c.method for c in o365.control.request_log(after_id=before)] == ["GET"]
    assert ours(o365, include_deleted=True) == []


def test_retries_honour_retry_after_then_fail_in_plain_words(
    client, adele, intro, o365, settings, outsider
):
    settings.CALENDAR_PUSH_MAX_ATTEMPTS = 2
    # Longer than the Graph client waits in place, so the attempt itself fails.
    o365.control.faults_set(kinds=("503",), mailbox=ADELE, retry_after=30)
    _, row = book_one(client)

    started = timezone.now()
    assert push(row) == "retry"
    row.refresh_from_db()
    assert row.next_attempt_at >= started + timedelta(seconds=30)
    assert error_shown(row.last_error) == "Microsoft's calendar service was unavailable (503)"
    assert push(row) == "failed"
    row.refresh_from_db()
    assert (row.state, row.attempts) == (PushState.FAILED, 2)

    page = client.get(reverse("calendars:integration")).content.decode()
    assert "Bookings not updated in your calendar" in page
    assert "Intro call with Invitee 000" in page
    assert "Microsoft&#x27;s calendar service was unavailable (503)" in page
    retry_url = reverse("calendars:push_retry", args=[row.pk])
    assert retry_url in page

    client.force_login(outsider)
    assert client.post(retry_url).status_code == 404
    row.refresh_from_db()
    assert row.state == PushState.FAILED

    client.force_login(row.host)
    assert client.get(retry_url).status_code == 405
    o365.control.faults_clear()
    assert client.post(retry_url).status_code == 302
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (PushState.PENDING, 0, "")
    assert push(row) == "synced"
    assert (
        "Bookings not updated" not in client.get(reverse("calendars:integration")).content.decode()
    )


def test_a_retry_after_longer_than_the_broker_holds_a_task_is_left_to_the_sweeper(
    client, adele, intro, o365, monkeypatch, settings
):
    # Redis hands a task held for its countdown to a second worker after an hour (its
    # visibility timeout); Graph may ask for that long (capped at MSAL's hour).
    o365.control.faults_set(kinds=("503",), mailbox=ADELE, retry_after=3600)
    _, row = book_one(client)
    sent = []
    monkeypatch.setattr(
        outbox_dispatch,
        "task_send",
        lambda name, *, args, countdown=None, options=None: sent.append((name, countdown)),
    )
    PushedEvent.objects.filter(pk=row.pk).update(next_attempt_at=None)
    started = timezone.now()

    assert push_event(row.pk) == "retry"

    assert [(name, countdown) for name, countdown in sent if countdown] == []
    row.refresh_from_db()
    assert row.next_attempt_at >= started + timedelta(seconds=3600)
    swept = row.next_attempt_at + timedelta(seconds=settings.CALENDAR_REQUEUE_AFTER)
    assert list(pushes_lost(now=swept).values_list("pk", flat=True)) == [row.pk]


def test_a_revoked_sign_in_makes_pushes_wait_until_the_host_reconnects(client, adele, intro, o365):
    o365.control.grants_revoke(ADELE)
    CalendarConnection.objects.filter(pk=adele.pk).update(token_cache=_expired(adele))
    mail.outbox.clear()
    _, row = book_one(client)

    assert push(row) == "waiting"

    adele.refresh_from_db()
    row.refresh_from_db()
    assert adele.status == ConnectionStatus.DISCONNECTED
    assert row.state == PushState.WAITING
    disconnected = [m for m in mail.outbox if "calendar was disconnected" in m.subject]
    assert len(disconnected) == 1
    assert ours(o365) == []

    connect_host(client, o365, reconnect="1")
    row.refresh_from_db()
    assert row.state == PushState.PENDING
    assert push(row) == "synced"
    assert len(ours(o365)) == 1


def test_a_sign_in_refused_for_good_never_leaves_the_cancel_pending(client, adele, intro, o365):
    made, row = book_one(client)
    assert push(row) == "synced"
    # The stored sign-in can no longer be read (say, a database restored from a bad copy).
    CalendarConnection.objects.filter(pk=adele.pk).update(token_cache=crypto.encrypt("{oops"))
    client.post(made["cancel_url"], {"reason": ""})

    outcome = push(row)

    # It waits for a reconnect (if the token service disconnected the account) or the
    # host sees it failed. Left pending, the sweeper would queue it again and again
    # until it gave up for attempts that "never finished".
    row.refresh_from_db()
    assert (outcome, row.state) in [("waiting", PushState.WAITING), ("failed", PushState.FAILED)]
    assert error_shown(row.last_error) == (
        "Microsoft no longer accepts the connection; reconnect it in Setup"
    )


def test_two_workers_pushing_one_row_at_once_make_one_event(client, adele, intro, o365):
    o365.control.faults_set(latency_ms=300, mailbox=ADELE)
    _, row = book_one(client)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        try:
            barrier.wait()
            outcomes.append(pushed_event_push(pushed_event_id=row.pk).status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes) == ["skipped", "synced"]
    assert len(ours(o365, include_deleted=True)) == 1


def _expired(connection) -> str:
    """The stored token cache with its access token marked expired (forces a refresh)."""
    import json
    import time

    from calendars import crypto

    state = json.loads(crypto.decrypt(connection.token_cache))
    for entry in state["AccessToken"].values():
        entry["expires_on"] = str(int(time.time()) - 10)
    return crypto.encrypt(json.dumps(state))


def test_bookings_made_while_disconnected_go_out_after_reconnecting(client, adele, intro, o365):
    client.post(reverse("calendars:disconnect", args=[adele.pk]))
    made, _ = _book_while_disconnected(client)

    connect_host(client, o365, reconnect="1")

    [row] = rows_for(made["id"])
    assert row.calendar.connection_id == adele.pk
    assert push(row) == "synced"
    assert [e.subject for e in ours(o365)] == ["Intro call with Invitee 000"]


def test_after_switching_accounts_every_future_booking_goes_to_the_new_main_calendar(
    client, adele, intro, o365
):
    early, early_row = book_one(client)
    push(early_row)
    client.post(reverse("calendars:disconnect", args=[adele.pk]))
    late, _ = _book_while_disconnected(client, index=2)

    megan = connect_host(client, o365, address=MEGAN)

    intro.refresh_from_db()
    assert intro.main_calendar.connection_id == megan.pk
    rows = PushedEvent.objects.filter(calendar__connection=megan)
    assert {row.source for row in rows} == {f"booking:{early['id']}", f"booking:{late['id']}"}
    assert all(push(row) == "synced" for row in rows)
    megans = [e for e in o365.control.events(MEGAN, calendar="Calendar") if e.transaction_id]
    assert len(megans) == 2
    # The old account is disconnected: its event and its record are left as they were.
    assert len(ours(o365)) == 1


def _book_while_disconnected(client, *, index: int = 0) -> tuple[dict, PushedEvent]:
    """Book while the calendar is disconnected: the booking stands, and its push waits in
    the disconnected account (Setup counts it) until the host reconnects."""
    start, _ = offered(client, "intro", first=tomorrow())[index]
    [made] = book_starts(client, "intro", [start])
    [row] = rows_for(made["id"])
    assert row.state == PushState.WAITING
    return made, row


def test_setup_and_calendar_status_count_every_update_that_goes_out_on_reconnect(
    client, adele, intro, o365, capsys
):
    """After a revoke, with one push under way and one booking made while disconnected,
    both go out on reconnect: Setup and ``calendar_status`` say 2, not 1."""
    from django.core.management import call_command

    o365.control.grants_revoke(ADELE)
    CalendarConnection.objects.filter(pk=adele.pk).update(token_cache=_expired(adele))
    _, under_way = book_one(client, index=0)
    assert push(under_way) == "waiting"  # finds the sign-in gone: disconnected
    _book_while_disconnected(client, index=1)

    lobby = client.get(reverse("calendars:integration")).content.decode()
    assert "2 booking updates wait until you reconnect" in lobby
    call_command("calendar_status")
    assert "pending=0 waiting=2 failed=0" in capsys.readouterr().out

    connect_host(client, o365, reconnect="1")
    for row in PushedEvent.objects.filter(state=PushState.PENDING):
        assert push(row) == "synced"
    assert len(ours(o365)) == 2


@pytest.mark.postgres
def test_a_push_that_loses_the_database_gives_its_slot_and_row_back_at_the_next_connection(
    client, adele, intro, o365
):
    """PostgreSQL drops the worker's connection while Microsoft makes the event, and stays
    away a moment: the push can record nothing and give nothing back. The worker's next
    task gives back the mailbox slot and the row at once, instead of both staying held
    for CALENDAR_TASK_LEASE (120 s)."""
    from django.db import connection

    from calendars.models import MailboxSlot
    from calendars.services.mailbox_slots import mailbox_slots_busy

    _, row = book_one(client)
    o365.control.faults_set(latency_ms=3000, mailbox=ADELE)  # Microsoft takes its time
    outcome: dict = {}

    def worker():
        try:
            outcome["status"] = pushed_event_push(pushed_event_id=row.pk).status
        except Exception as error:  # the database went away: reported below
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = timezone.now() + timedelta(seconds=20)
    while not (
        MailboxSlot.objects.exclude(holder="").exists()
        and PushedEvent.objects.filter(pk=row.pk, create_request__isnull=False).exists()
    ):
        assert timezone.now() < deadline, "the push never took its slot and row"
    time.sleep(1)  # the create request is on its way to Microsoft
    saved = dict(connection.settings_dict)
    with connection.cursor() as cursor:  # PostgreSQL drops the worker's connection...
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.settings_dict["PORT"] = "9"  # ...and takes no new ones for a while
    try:
        thread.join(30)
    finally:
        connection.settings_dict.update(saved)
    assert "error" in outcome, outcome
    assert len(ours(o365)) == 1  # Microsoft made the event; we could not record it
    assert mailbox_slots_busy(mailbox=adele.mailbox_key) == 1

    o365.control.faults_clear()
    assert push(row) == "synced", outcome  # the worker's next task, a moment later

    assert mailbox_slots_busy(mailbox=adele.mailbox_key) == 0
    row.refresh_from_db()
    assert (row.claimed_by, row.claimed_until) == ("", None)
    assert len(ours(o365)) == 1  # the retried create was answered with the same event
