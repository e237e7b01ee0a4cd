"""Busy-time sync against the Graph sandbox over HTTPS (the service the worker's task runs).

``test_workers.py`` proves the same through a real worker and the public slots API.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from booking.models import BookingPage, PageCalendar
from booking.services.pages import page_calendars_set, page_set_active
from calendars.error_text import error_shown
from calendars.models import BusyInterval, Calendar, CalendarConnection, CalendarSyncState
from calendars.services.busy_sync import connection_sync, connections_due, connections_to_sync
from calendars.services.push import pushed_event_push
from calendars.signals import busy_time_changed
from calendars.tasks import sync_notified
from outbox import dispatch as outbox_dispatch
from tests.support.booking import slots_url
from tests.support.office365 import (
    ADELE,
    book_starts,
    connect_host,
    offered,
    open_page,
    tomorrow,
)

pytestmark = pytest.mark.slow

LONDON = ZoneInfo("Europe/London")


def at(hour: int, minute: int = 0, *, days: int = 1) -> datetime:
    day = datetime.now(LONDON).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), LONDON)


def sync(connection) -> str:
    return connection_sync(connection_id=connection.pk).status


def intervals(calendar_name: str = "Calendar") -> dict[str, tuple]:
    rows = BusyInterval.objects.filter(calendar__name=calendar_name)
    return {row.remote_event_id: (row.start, row.end, row.show_as) for row in rows}


def calls_since(o365, before: int) -> list[tuple[str, str, str]]:
    return [
        (c.method, c.path.split("/calendars/")[-1].split("/", 1)[-1], c.query)
        for c in o365.control.request_log(after_id=before)
    ]


def last_id(o365) -> int:
    return o365.control.request_log()[-1].id


def personal_reads_busy_time(page) -> Calendar:
    personal = Calendar.objects.get(name="Personal")
    page_calendars_set(
        page=page, main_calendar=page.main_calendar, uses={personal.pk: (True, False)}
    )
    return personal


def test_only_calendars_an_active_page_reads_are_synced_as_far_as_its_horizon(host, adele, intro):
    main = Calendar.objects.get(name="Calendar")
    personal = Calendar.objects.get(name="Personal")
    assert (main.busy_horizon_days, personal.busy_horizon_days) == (60, 0)
    assert list(connections_to_sync()) == [adele]

    personal_reads_busy_time(intro)
    personal.refresh_from_db()
    assert personal.busy_horizon_days == 60

    page_set_active(page=intro, active=False)
    assert set(Calendar.objects.values_list("busy_horizon_days", flat=True)) == {0}
    assert list(connections_to_sync()) == []


def test_a_sync_stores_what_blocks_and_nothing_else(adele, intro, o365):
    add = o365.control.event_add
    busy = add(ADELE, subject="Dentist", start=at(9), end=at(10), show_as="busy")
    oof = add(ADELE, subject="Away", start=at(10), end=at(11), show_as="oof")
    elsewhere = add(ADELE, subject="Site", start=at(11), end=at(12), show_as="workingElsewhere")
    tentative = add(ADELE, subject="Maybe", start=at(12), end=at(13), show_as="tentative")
    free = add(ADELE, subject="Lunch?", start=at(13), end=at(14), show_as="free")
    beyond = add(ADELE, subject="Far", start=at(9, days=70), end=at(10, days=70))

    assert sync(adele) == "synced"

    stored = intervals()
    assert stored[busy.id] == (busy.start, busy.end, "busy")
    assert stored[oof.id][2] == "oof"
    assert stored[elsewhere.id][2] == "workingElsewhere"
    assert stored[tentative.id][2] == "tentative"  # the page decides whether it blocks
    assert free.id not in stored
    assert beyond.id not in stored  # past the horizon (60 days) and its margin
    calendar = Calendar.objects.get(name="Calendar")
    assert calendar.last_synced_at is not None
    assert calendar.sync_state.synced_until >= timezone.now() + timedelta(days=61)
    assert calendar.last_sync_error == ""


def test_a_steady_state_cycle_costs_one_small_request_per_calendar(adele, intro, o365):
    personal_reads_busy_time(intro)
    assert sync(adele) == "synced"
    before = last_id(o365)

    assert sync(adele) == "synced"

    calls = calls_since(o365, before)
    assert len(calls) == 2  # Calendar and Personal
    for method, path, query in calls:
        assert (method, path) == ("GET", "calendarView/delta")
        assert query.startswith("%24deltatoken=") or query.startswith("$deltatoken=")


def test_a_calendar_deleted_in_outlook_no_longer_blocks_time(client, adele, intro, o365):
    personal = personal_reads_busy_time(intro)
    dentist = o365.control.event_add(
        ADELE, calendar="Personal", subject="Dentist", start=at(3), end=at(4)
    )
    assert sync(adele) == "synced"
    assert dentist.id in intervals("Personal")
    three = at(3).isoformat()
    assert three not in [start for start, _ in offered(client, "intro", first=tomorrow())]

    # The host deletes the calendar in Outlook: its events go with it (Graph: 404).
    o365.control.calendar_delete(ADELE, "Personal")
    assert sync(adele) == "partial"

    assert intervals("Personal") == {}
    assert three in [start for start, _ in offered(client, "intro", first=tomorrow())]
    personal.refresh_from_db()
    assert personal.last_sync_error  # Setup says the calendar no longer exists
    assert CalendarSyncState.objects.get(calendar=personal).delta_link == ""


def test_a_mailbox_that_lost_its_licence_keeps_its_busy_time_until_it_is_back(
    client, adele, intro, o365
):
    # Graph answers every call for such a mailbox 404 MailboxNotEnabledForRESTAPI: the
    # calendar was not deleted, its events still block the host's time.
    dentist = o365.control.event_add(ADELE, subject="Dentist", start=at(3), end=at(4))
    assert sync(adele) == "synced"
    three = at(3).isoformat()
    assert three not in [start for start, _ in offered(client, "intro", first=tomorrow())]

    o365.control.faults_set(kinds=("unlicensed",), mailbox=ADELE)
    assert sync(adele) == "partial"

    assert dentist.id in intervals()
    assert three not in [start for start, _ in offered(client, "intro", first=tomorrow())]
    main = Calendar.objects.get(name="Calendar")
    assert error_shown(main.last_sync_error) == (
        "Office 365 cannot open this account's mailbox (it may have lost its Exchange Online "
        "licence, or be kept on the organisation's own server)"
    )
    assert CalendarSyncState.objects.get(calendar=main).delta_link  # still good

    o365.control.faults_clear()
    assert sync(adele) == "synced"
    assert dentist.id in intervals()


def test_changes_arrive_through_the_delta_link(adele, intro, o365):
    sync(adele)
    event = o365.control.event_add(ADELE, subject="New", start=at(15), end=at(16))
    before = last_id(o365)

    sync(adele)

    assert event.id in intervals()
    assert len(calls_since(o365, before)) == 1
    o365.control.event_delete(ADELE, event.id)
    sync(adele)
    assert event.id not in intervals()


# Microsoft's "Use delta query" page names both: 410 Gone after maintenance, and "a
# 40X-series error with error codes such as syncStateNotFound" when an Outlook delta
# token expired (400 BadRequest as seen).
@pytest.mark.parametrize("status", [410, 400])
def test_a_forgotten_delta_link_means_a_full_read(adele, intro, o365, status):
    sync(adele)
    event = o365.control.event_add(ADELE, subject="During", start=at(15), end=at(16))
    o365.control.delta_links_expire(status=status)
    before = last_id(o365)

    assert sync(adele) == "synced"

    [expired, fresh] = calls_since(o365, before)
    assert "deltatoken" in expired[2]
    assert "startDateTime" in fresh[2]
    assert event.id in intervals()


def test_a_day_off_blocks_the_hosts_whole_day_in_their_own_zone(adele, intro, o365, host):
    # Graph gives an all-day event's days as midnights under the asked zone's name
    # ("UTC" here), not converted; Los Angeles' day off is 08:00 to 08:00 UTC.
    zone = ZoneInfo("America/Los_Angeles")
    o365.control.mailbox_time_zone_set(ADELE, "America/Los_Angeles")
    host.time_zone = "America/Los_Angeles"
    host.save(update_fields=["time_zone"])
    day = datetime.now(zone).date() + timedelta(days=2)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    event = o365.control.event_add(
        ADELE, subject="Day off", start=start, end=end, show_as="oof", all_day=True
    )

    sync(adele)

    assert intervals()[event.id] == (start, end, "oof")


def test_a_day_off_moves_with_the_hosts_new_time_zone_at_the_next_sync(
    client, adele, intro, o365, host
):
    tokyo, new_york = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")
    o365.control.mailbox_time_zone_set(ADELE, "Asia/Tokyo")
    host.time_zone = "Asia/Tokyo"
    host.save(update_fields=["time_zone"])
    day = datetime.now(tokyo).date() + timedelta(days=3)
    event = o365.control.event_add(
        ADELE,
        subject="Day off",
        start=datetime.combine(day, time(0), tokyo),
        end=datetime.combine(day + timedelta(days=1), time(0), tokyo),
        show_as="oof",
        all_day=True,
    )
    sync(adele)
    assert intervals()[event.id][0] == datetime.combine(day, time(0), tokyo)

    # The host moves to New York (Setup → Profile): the same day off is New York's day.
    saved = client.post(
        reverse("setup:profile"),
        {"name": host.name, "time_zone": "America/New_York", "language": ""},
    )
    assert saved.status_code == 302
    assert sync(adele) == "synced"

    start, end, _ = intervals()[event.id]
    assert (start, end) == (
        datetime.combine(day, time(0), new_york),
        datetime.combine(day + timedelta(days=1), time(0), new_york),
    )


def test_the_window_moves_forward_with_a_full_read(adele, intro, o365):
    sync(adele)
    CalendarSyncState.objects.filter(calendar__name="Calendar").update(
        synced_until=timezone.now() + timedelta(days=30)
    )
    before = last_id(o365)
    sync(adele)
    [(_, path, query)] = calls_since(o365, before)
    assert path == "calendarView/delta"
    assert "startDateTime" in query
    state = CalendarSyncState.objects.get(calendar__name="Calendar")
    assert state.synced_until > timezone.now() + timedelta(days=61)


def test_events_we_pushed_are_not_busy_time(client, adele, intro, o365):
    start, _ = offered(client, "intro", first=tomorrow())[4]
    book_starts(client, "intro", [start])
    row = adele.calendars.get(name="Calendar").pushed_events.get()
    pushed_event_push(pushed_event_id=row.pk)
    row.refresh_from_db()
    assert row.remote_id  # the event is in the calendar
    other = o365.control.event_add(ADELE, subject="Other", start=at(18), end=at(19))

    sync(adele)

    assert other.id in intervals()
    assert row.remote_id not in intervals()


def test_the_outlook_copy_of_a_booking_being_moved_does_not_block_the_move(
    client, adele, intro, o365
):
    """The copy we pushed is recognised by its transactionId, so a 60-minute meeting can
    move by 15 minutes onto its own old time; the host's own events still block. (Five
    days ahead: no demo event of the sandbox's mailbox is there.)"""
    BookingPage.objects.filter(pk=intro.pk).update(duration_minutes=60)
    start = at(10, days=5)
    [made] = book_starts(client, "intro", [start.isoformat()])
    row = adele.calendars.get(name="Calendar").pushed_events.get()
    pushed_event_push(pushed_event_id=row.pk)
    row.refresh_from_db()
    assert row.remote_id
    o365.control.event_add(ADELE, subject="Dentist", start=at(12, days=5), end=at(13, days=5))
    sync(adele)
    token = made["reschedule_url"].rstrip("/").split("/")[-2]

    def offered_to_mover() -> set[datetime]:
        query = {"start": start.date().isoformat(), "end": start.date().isoformat()}
        url = slots_url("intro", **query, tz="Europe/London", reschedule=quote(token))
        answer = client.get(url)
        assert answer.status_code == 200, answer.content[:300]
        return {datetime.fromisoformat(slot["start"]) for slot in answer.json()["slots"]}

    starts = offered_to_mover()
    assert {at(9, 15, days=5), at(10, days=5), at(10, 15, days=5), at(10, 45, days=5)} <= starts
    assert at(11, 15, days=5) not in starts  # would run into the dentist
    moved = client.post(made["reschedule_url"], {"start": at(10, 15, days=5).isoformat()})
    assert moved.status_code == 302
    row.refresh_from_db()
    pushed_event_push(pushed_event_id=row.pk)  # PATCH: same event, same transactionId
    sync(adele)
    assert row.remote_id not in intervals()
    assert at(10, 30, days=5) in offered_to_mover()


def test_a_connection_being_synced_by_another_worker_is_left_alone(adele, intro, o365):
    CalendarConnection.objects.filter(pk=adele.pk).update(
        sync_claimed_until=timezone.now() + timedelta(seconds=60)
    )
    before = last_id(o365)
    assert sync(adele) == "skipped"
    assert calls_since(o365, before) == []
    # A lease whose holder died runs out.
    CalendarConnection.objects.filter(pk=adele.pk).update(
        sync_claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert sync(adele) == "synced"


def test_setup_shows_when_each_calendar_was_synced_and_errors_in_plain_words(
    client, host, adele, intro, o365
):
    page = client.get(reverse("calendars:integration")).content.decode()
    assert "Never synced" in page
    assert "Not used for busy time" in page  # Personal

    sync(adele)
    Calendar.objects.filter(name="Calendar").update(
        last_synced_at=timezone.now() - timedelta(minutes=3)
    )
    page = client.get(reverse("calendars:integration")).content.decode()
    assert "Last synced 3 minutes ago" in page

    o365.control.faults_set(kinds=("429",), mailbox=ADELE, retry_after=60)
    started = timezone.now()
    outcome = connection_sync(connection_id=adele.pk)
    assert outcome.status == "partial"
    assert outcome.retry_in >= 60
    calendar = Calendar.objects.get(name="Calendar")
    assert calendar.sync_retry_at >= started + timedelta(seconds=60)
    # Kept as facts, worded when a host reads it (in their language).
    assert json.loads(calendar.last_sync_error)["status"] == 429
    retry = timezone.localtime(calendar.sync_retry_at, ZoneInfo(host.time_zone))
    expected = f"Microsoft was busy (throttled); we&#x27;ll try again at {retry:%H:%M}."
    assert expected in client.get(reverse("calendars:integration")).content.decode()
    associated = client.get(reverse("pages:calendars", args=[intro.pk])).content.decode()
    assert expected in associated
    assert "Last synced 3 minutes ago" in associated

    o365.control.faults_clear()
    Calendar.objects.filter(pk=calendar.pk).update(sync_retry_at=timezone.now())  # time passes
    sync(adele)
    page = client.get(reverse("calendars:integration")).content.decode()
    assert "throttled" not in page
    assert "Last synced just now" in page


def test_a_throttled_calendar_is_not_read_again_before_microsofts_retry_after(adele, intro, o365):
    # Microsoft's throttling guidance: wait the Retry-After out; calls before it keep the
    # throttle on. Beat's next cycle and notifications come sooner than ten minutes.
    assert sync(adele) == "synced"
    o365.control.faults_set(kinds=("429",), mailbox=ADELE, retry_after=600, times=1)
    assert sync(adele) == "partial"
    calendar = Calendar.objects.get(name="Calendar")
    before = last_id(o365)

    outcome = connection_sync(connection_id=adele.pk)
    notified = connection_sync(connection_id=adele.pk, notified=True)

    assert calls_since(o365, before) == []
    assert (outcome.status, notified.status) == ("partial", "partial")
    assert 590 < outcome.retry_in <= (calendar.sync_retry_at - timezone.now()).total_seconds() + 1
    Calendar.objects.filter(pk=calendar.pk).update(sync_retry_at=timezone.now())  # time passes
    assert sync(adele) == "synced"
    assert len(calls_since(o365, before)) == 1


def test_a_push_throttled_for_the_mailbox_holds_its_busy_time_reads_too(client, adele, intro, o365):
    # Microsoft's service-specific limits for Outlook count "per app ID and mailbox
    # combination", and a throttled app's "further requests" are limited until Retry-After
    # passed: a read of the mailbox meanwhile would be refused too, and prolong it.
    assert sync(adele) == "synced"
    start, _ = offered(client, "intro", first=tomorrow())[4]
    book_starts(client, "intro", [start])
    row = adele.calendars.get(name="Calendar").pushed_events.get()
    o365.control.faults_set(kinds=("429",), mailbox=ADELE, retry_after=600, times=1)
    assert pushed_event_push(pushed_event_id=row.pk).status == "retry"
    before = last_id(o365)

    outcome = connection_sync(connection_id=adele.pk)

    assert calls_since(o365, before) == []
    assert outcome.status == "partial"
    assert 590 < outcome.retry_in <= 600
    Calendar.objects.filter(connection=adele).update(sync_retry_at=timezone.now())  # time passes
    assert sync(adele) == "synced"


def test_one_throttled_read_holds_the_mailboxs_other_calendars(adele, intro, o365):
    personal_reads_busy_time(intro)
    assert sync(adele) == "synced"
    o365.control.faults_set(kinds=("429",), mailbox=ADELE, retry_after=600, times=1)
    before = last_id(o365)

    outcome = connection_sync(connection_id=adele.pk)

    assert len(calls_since(o365, before)) == 1  # the throttled read; the other waits
    assert outcome.status == "partial"
    assert 590 < outcome.retry_in <= 600
    held = Calendar.objects.filter(name__in=("Calendar", "Personal"))
    assert all(c.sync_retry_at > timezone.now() + timedelta(seconds=590) for c in held)


def test_a_sync_asked_for_later_than_the_broker_holds_a_task_is_left_to_beat(
    adele, intro, o365, monkeypatch
):
    assert sync(adele) == "synced"
    o365.control.faults_set(kinds=("429",), mailbox=ADELE, retry_after=3600)
    sent = []
    monkeypatch.setattr(
        outbox_dispatch,
        "task_send",
        lambda name, *, args, countdown=None, options=None: sent.append((name, countdown)),
    )

    assert sync_notified(adele.pk) == "partial"

    assert [(name, countdown) for name, countdown in sent if countdown] == []
    calendar = Calendar.objects.get(name="Calendar")
    assert calendar.sync_retry_at >= timezone.now() + timedelta(seconds=3590)
    assert adele.pk in connections_due()  # beat's cycle queues it (read once the time came)


def test_tentative_blocks_only_while_the_page_says_so(client, adele, intro, o365):
    day = tomorrow()
    start, end = offered(client, "intro", first=day)[40]
    o365.control.event_add(
        ADELE,
        subject="Maybe",
        start=datetime.fromisoformat(start),
        end=datetime.fromisoformat(end),
        show_as="tentative",
    )
    sync(adele)
    assert (start, end) not in offered(client, "intro", first=day)
    intro.block_tentative = False
    intro.save()
    assert (start, end) in offered(client, "intro", first=day)
    assert PageCalendar.objects.count() == 0  # the main calendar alone supplied it


def test_busy_time_changed_is_announced_after_a_sync_that_changed_something(
    adele, intro, o365, django_capture_on_commit_callbacks
):
    announced = []

    def listen(sender, signal, **arguments):
        announced.append(arguments)

    busy_time_changed.connect(listen, dispatch_uid="test-busy-time-changed")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            sync(adele)  # the first read stores the seeded busy time
        calendar = Calendar.objects.get(name="Calendar")
        expected = {"calendar_id": calendar.pk, "connection_id": adele.pk, "host_id": adele.host_id}
        assert announced == [expected]

        with django_capture_on_commit_callbacks(execute=True):
            sync(adele)
        assert announced == [expected]  # nothing changed: nothing announced

        o365.control.event_add(ADELE, subject="New", start=at(15), end=at(16))
        with django_capture_on_commit_callbacks(execute=True):
            sync(adele)
        assert announced == [expected, expected]
    finally:
        busy_time_changed.disconnect(dispatch_uid="test-busy-time-changed")


def test_two_hosts_on_one_mailbox_see_each_others_bookings_as_busy(
    client, teammate, adele, intro, o365
):
    """An assistant and their manager (or one person with two accounts) connect the same
    mailbox: a booking on Alice's page lands in it and hides that time on Bob's page."""
    from django.test import Client

    bob = Client()
    bob.force_login(teammate)
    bobs_connection = connect_host(bob, o365)
    assert bobs_connection.mailbox_key == adele.mailbox_key
    open_page(teammate, slug="bob", title="Bob's call")
    start, end = offered(client, "intro", first=tomorrow())[4]
    assert (start, end) in offered(bob, "bob", first=tomorrow())
    book_starts(client, "intro", [start])
    row = adele.calendars.get(name="Calendar").pushed_events.get()
    pushed_event_push(pushed_event_id=row.pk)

    sync(adele)
    sync(bobs_connection)

    assert (start, end) not in offered(bob, "bob", first=tomorrow())
    # Alice's own page is blocked by her booking, not by its copy in Outlook.
    alices = BusyInterval.objects.filter(calendar__connection=adele)
    assert row.remote_id not in set(alices.values_list("remote_event_id", flat=True))
