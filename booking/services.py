"""Writes for booking pages and bookings.

Bookings: every create and reschedule re-checks the slot inside the transaction
that writes it, while holding a lock on the host's user row, so two invitees can
never get the same time (PostgreSQL: ``SELECT … FOR UPDATE``; SQLite: the
IMMEDIATE transaction already serializes writers). The calendar push is an outbox
row written in the same transaction (``calendars.services.mirroring``). Every change
is announced as a booking event (``booking.events``) from that transaction; emails
(and later webhooks, reminders, metrics) subscribe. Nothing here waits on Microsoft,
on the mail server or on the broker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from booking.events import Actor, BookingEventKind, booking_event_emit
from booking.models import (
    RESERVED_SLUGS,
    Booking,
    BookingPage,
    BookingStatus,
    DateOverride,
    LocationKind,
    PageCalendar,
    Question,
    WeeklyHours,
)
from booking.selectors import (
    busy_calendars_for,
    future_bookings_of_host,
    host_calendars,
    pages_needing_main_calendar,
    slots_on_day_of,
    target_calendars_for,
)
from booking.tokens import booking_paths
from calendars.events import Attendee, EventDescription
from calendars.models import Calendar, CalendarConnection
from calendars.services.busy_sync import busy_horizons_set
from calendars.services.mirroring import event_mirror, event_unmirror

log = logging.getLogger(__name__)

DEFAULT_WEEKLY_HOURS = tuple((weekday, time(9), time(17)) for weekday in range(5))


# --- errors ------------------------------------------------------------------------------


class BookingError(Exception):
    """A booking request that cannot be done; ``message`` is for the invitee."""

    field = "start"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidStart(BookingError):
    """The start is not a time the page offers at all (past, too soon, too far, off-grid)."""


class SlotTaken(BookingError):
    """The page offers the time in general, but it is no longer free."""


class PageClosed(BookingError):
    """The page does not take bookings (disabled, or deleted)."""

    field = "page"


class BookingNotChangeable(BookingError):
    """The booking was cancelled or has already started."""

    field = "booking"


@dataclass(frozen=True)
class Invitee:
    name: str
    email: str
    time_zone: str
    # [{"question": label, "answer": text}, …] in the page's question order.
    answers: Sequence[Mapping[str, str]] = field(default_factory=tuple)


# --- bookings ----------------------------------------------------------------------------


def booking_create(
    *,
    page: BookingPage,
    start: datetime,
    invitee: Invitee,
    actor: Actor = Actor.INVITEE,
    now: datetime | None = None,
) -> Booking:
    """Book ``start`` on ``page`` for ``invitee``, or raise a ``BookingError``.

    Raises ``InvalidStart`` when the page never offers that time, ``SlotTaken``
    when it does but the time is no longer free, ``PageClosed`` when the page
    stopped taking bookings. Writes the booking, its calendar outbox rows and the
    ``confirmed`` event's rows (emails) in one transaction.
    """
    now = now or timezone.now()
    start = start.astimezone(UTC)
    _check_offered(page=page, start=start, now=now)
    with transaction.atomic():
        _lock_host(page.host_id)
        page = BookingPage.objects.select_related("host").filter(pk=page.pk).first()
        if page is None or not page.is_active:
            raise PageClosed("This booking page is not taking bookings.")
        if not _is_free(page=page, start=start, now=now):
            raise SlotTaken("Sorry, that time was just taken. Please pick another time.")
        booking = Booking.objects.create(
            page=page,
            host=page.host,
            title=page.title,
            location=page.location_text,
            start=start,
            end=start + timedelta(minutes=page.duration_minutes),
            invitee_name=invitee.name,
            invitee_email=invitee.email,
            invitee_time_zone=invitee.time_zone,
            answers=[dict(answer) for answer in invitee.answers],
        )
        booking_mirror(booking=booking)
        booking_event_emit(booking=booking, kind=BookingEventKind.CONFIRMED, actor=actor, now=now)
    return booking


def booking_reschedule(
    *,
    booking: Booking,
    start: datetime,
    actor: Actor = Actor.INVITEE,
    now: datetime | None = None,
) -> Booking:
    """Move a confirmed, future booking to another free slot of its page.

    Same checks and lock as ``booking_create``; the booking keeps its uuid (and so its
    calendar events, which are updated), and its iCalendar SEQUENCE is bumped.
    """
    now = now or timezone.now()
    start = start.astimezone(UTC)
    page = booking.page
    if page is None or not page.is_active:
        raise PageClosed("This booking page no longer takes bookings, so it cannot be moved.")
    _check_offered(page=page, start=start, now=now)
    with transaction.atomic():
        _lock_host(booking.host_id)
        booking = Booking.objects.select_related("page", "host").get(pk=booking.pk)
        booking_check_changeable(booking=booking, now=now)
        if start == booking.start:
            return booking
        if not _is_free(page=booking.page, start=start, now=now, exclude_booking=booking):
            raise SlotTaken("Sorry, that time was just taken. Please pick another time.")
        booking.rescheduled_from_start = booking.start
        booking.start = start
        booking.end = start + timedelta(minutes=booking.page.duration_minutes)
        booking.sequence += 1
        booking.save()
        booking_mirror(booking=booking)
        booking_event_emit(booking=booking, kind=BookingEventKind.RESCHEDULED, actor=actor, now=now)
    return booking


def booking_cancel(
    *, booking: Booking, actor: Actor, reason: str = "", now: datetime | None = None
) -> Booking:
    """Cancel a confirmed, future booking on behalf of ``actor`` (the invitee from their
    link, the host from Setup); its calendar events are asked to go away."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_host(booking.host_id)
        booking = Booking.objects.select_related("page", "host").get(pk=booking.pk)
        booking_check_changeable(booking=booking, now=now)
        booking.status = BookingStatus.CANCELLED
        booking.cancel_reason = reason.strip()
        booking.cancelled_at = now
        booking.sequence += 1
        booking.save()
        event_unmirror(source=booking.mirror_source)
        booking_event_emit(booking=booking, kind=BookingEventKind.CANCELLED, actor=actor, now=now)
    return booking


def booking_mirror(*, booking: Booking) -> None:
    """Ask for the booking's event in its page's main and "add bookings" calendars.

    Writes outbox rows only (in the caller's transaction); with no calendar
    connected it writes nothing and the booking still stands.
    """
    page = booking.page
    calendars = target_calendars_for(page=page) if page is not None else []
    if not calendars:
        return
    event_mirror(
        host=booking.host,
        source=booking.mirror_source,
        event=booking_event(booking=booking),
        calendars=calendars,
    )


def booking_event(*, booking: Booking) -> EventDescription:
    """The neutral calendar event for a booking, shown in the page's time zone."""
    page = booking.page
    zone_name = page.time_zone if page is not None else booking.host.time_zone
    zone = ZoneInfo(zone_name)
    teams = page is not None and page.location_kind == LocationKind.TEAMS
    return EventDescription(
        subject=f"{booking.title} with {booking.invitee_name}",
        start=booking.start.astimezone(zone),
        end=booking.end.astimezone(zone),
        time_zone=zone_name,
        body_text=booking_details_text(booking=booking),
        attendees=(Attendee(booking.invitee_email, booking.invitee_name),),
        location="" if teams else booking.location,
        online_meeting=teams,
    )


def booking_details_text(*, booking: Booking) -> str:
    """Plain text for calendar bodies and .ics descriptions: answers and the invitee's links."""
    lines = [f"Booked by {booking.invitee_name} <{booking.invitee_email}>"]
    lines += [f"{item['question']}: {item['answer']}" for item in booking.answers if item["answer"]]
    links = {key: settings.SITE_URL + path for key, path in booking_paths(booking).items()}
    lines += ["", f"Cancel: {links['cancel']}", f"Reschedule: {links['reschedule']}"]
    return "\n".join(lines)


def _lock_host(host_id: int) -> None:
    """Serialize booking writes per host (PostgreSQL row lock; SQLite is serialized anyway)."""
    get_user_model().objects.select_for_update().filter(pk=host_id).values_list("pk").first()


def _check_offered(*, page: BookingPage, start: datetime, now: datetime) -> None:
    """Refuse starts the page's rules never offer, with a message that says why."""
    zone = ZoneInfo(page.time_zone)
    if start <= now:
        raise InvalidStart("That time is in the past.")
    if start < now + timedelta(minutes=page.minimum_notice_minutes):
        raise InvalidStart(
            f"This page needs at least {_duration_text(page.minimum_notice_minutes)} notice."
        )
    too_far = InvalidStart(
        f"This page takes bookings up to {page.horizon_days} days ahead; that date is further out."
    )
    # Days away in UTC first: near the end of year 9999 the page's zone could not show it.
    if start - now > timedelta(days=page.horizon_days + 2):
        raise too_far
    last_day = now.astimezone(zone).date() + timedelta(days=page.horizon_days)
    if start.astimezone(zone).date() > last_day:
        raise too_far
    offered = slots_on_day_of(page=page, moment=start, now=now, ignore_busy=True)
    if start not in {slot.start for slot in offered}:
        raise InvalidStart("That is not one of the times this page offers.")


def _is_free(
    *, page: BookingPage, start: datetime, now: datetime, exclude_booking: Booking | None = None
) -> bool:
    slots = slots_on_day_of(page=page, moment=start, now=now, exclude_booking=exclude_booking)
    return start in {slot.start for slot in slots}


def booking_check_changeable(*, booking: Booking, now: datetime) -> None:
    """Raise ``BookingNotChangeable`` unless the booking is confirmed and still to come."""
    if not booking.is_confirmed:
        raise BookingNotChangeable("This booking was cancelled.")
    if booking.start <= now:
        raise BookingNotChangeable("This meeting has already started, so it can't be changed.")


def _duration_text(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


# --- pages ---------------------------------------------------------------------------------

HoursRow = tuple[int, time, time]
OverrideRow = tuple[date, time | None, time | None]


@dataclass(frozen=True)
class QuestionData:
    label: str
    kind: str
    required: bool = False
    options: Sequence[str] = ()
    pk: int | None = None  # an existing question keeps its id (and so its answer key)


@transaction.atomic
def page_create(
    *,
    host,
    fields: Mapping[str, object],
    hours: Sequence[HoursRow] = DEFAULT_WEEKLY_HOURS,
    overrides: Sequence[OverrideRow] = (),
    questions: Sequence[QuestionData] = (),
) -> BookingPage:
    """A new page of ``host`` with the given basic ``fields`` (model field names) and rules.

    The host's default calendar, when one is connected, becomes the main booking calendar.
    """
    page = BookingPage(host=host, **fields)
    if not page.time_zone:
        page.time_zone = host.time_zone
    page.main_calendar = host_calendars(host=host).filter(is_default=True).first()
    page.full_clean()
    page.save()
    _replace_rules(page=page, hours=hours, overrides=overrides, questions=questions)
    busy_horizons_update(host=host)
    return page


@transaction.atomic
def page_update(
    *,
    page: BookingPage,
    fields: Mapping[str, object],
    hours: Sequence[HoursRow],
    overrides: Sequence[OverrideRow],
    questions: Sequence[QuestionData],
) -> BookingPage:
    for name, value in fields.items():
        setattr(page, name, value)
    page.full_clean()
    page.save()
    _replace_rules(page=page, hours=hours, overrides=overrides, questions=questions)
    busy_horizons_update(host=page.host)
    return page


def _replace_rules(
    *,
    page: BookingPage,
    hours: Sequence[HoursRow],
    overrides: Sequence[OverrideRow],
    questions: Sequence[QuestionData],
) -> None:
    page.weekly_hours.all().delete()
    WeeklyHours.objects.bulk_create(
        WeeklyHours(page=page, weekday=weekday, start=start, end=end)
        for weekday, start, end in sorted(set(hours))
    )
    page.date_overrides.all().delete()
    DateOverride.objects.bulk_create(
        DateOverride(page=page, date=day, start=start, end=end)
        for day, start, end in sorted(set(overrides), key=lambda r: (r[0], r[1] or time(0)))
    )
    kept = {q.pk for q in questions if q.pk is not None}
    page.questions.exclude(pk__in=kept).delete()
    existing = {q.pk: q for q in page.questions.all()}
    for position, data in enumerate(questions):
        question = existing.get(data.pk) or Question(page=page)
        question.label = data.label
        question.kind = data.kind
        question.required = data.required
        question.options = list(data.options)
        question.position = position
        question.save()


@transaction.atomic
def page_set_active(*, page: BookingPage, active: bool) -> BookingPage:
    page.is_active = active
    page.save(update_fields=["is_active", "updated_at"])
    busy_horizons_update(host=page.host)
    return page


def unique_slug(base: str, *, exclude_pk: int | None = None) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is free (and short enough)."""
    base = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:50] or "page"
    taken = BookingPage.objects.exclude(pk=exclude_pk)
    candidate, number = base, 1
    while taken.filter(slug=candidate).exists() or candidate in RESERVED_SLUGS:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _copy_rows(rows, *, page: BookingPage, fields: Sequence[str]) -> None:
    """Copy ``rows`` (children of another page) onto ``page``, keeping ``fields``."""
    model = rows.model
    model.objects.bulk_create(
        model(page=page, **{name: getattr(row, name) for name in fields}) for row in rows
    )


@transaction.atomic
def page_duplicate(*, page: BookingPage) -> BookingPage:
    """A disabled copy of the page (rules, questions, calendars) at a fresh link."""
    original_pk = page.pk
    copy = BookingPage.objects.get(pk=original_pk)
    copy.pk = None
    copy.id = None
    copy.title = f"Copy of {page.title}"[:120]
    copy.slug = unique_slug(f"{page.slug}-copy")
    copy.is_active = False
    copy.save()
    original = BookingPage.objects.get(pk=original_pk)
    _copy_rows(original.weekly_hours.all(), page=copy, fields=("weekday", "start", "end"))
    _copy_rows(original.date_overrides.all(), page=copy, fields=("date", "start", "end"))
    _copy_rows(
        original.questions.all(),
        page=copy,
        fields=("label", "kind", "required", "options", "position"),
    )
    _copy_rows(
        original.calendar_uses.all(),
        page=copy,
        fields=("calendar_id", "retrieve_busy", "add_bookings"),
    )
    return copy


@transaction.atomic
def page_delete(*, page: BookingPage) -> None:
    """Delete the page. Its bookings stay (and their invitees can still cancel them)."""
    host = page.host
    page.delete()
    busy_horizons_update(host=host)


@transaction.atomic
def page_calendars_set(
    *,
    page: BookingPage,
    main_calendar: Calendar | None,
    uses: Mapping[int, tuple[bool, bool]],
) -> None:
    """Set the main booking calendar and, per other calendar id, (retrieve busy, add bookings).

    Only calendars of the host's connected account are accepted; others are ignored.
    """
    allowed = {calendar.pk: calendar for calendar in host_calendars(host=page.host)}
    if main_calendar is not None and main_calendar.pk not in allowed:
        raise ValueError("That calendar is not one of the host's connected calendars.")
    page.main_calendar = main_calendar
    page.save(update_fields=["main_calendar", "updated_at"])
    page.calendar_uses.filter(calendar_id__in=allowed).delete()
    PageCalendar.objects.bulk_create(
        PageCalendar(page=page, calendar=allowed[pk], retrieve_busy=busy, add_bookings=add)
        for pk, (busy, add) in uses.items()
        if pk in allowed and (busy or add) and (main_calendar is None or pk != main_calendar.pk)
    )
    busy_horizons_update(host=page.host)


def busy_horizons_update(*, host) -> None:
    """Tell calendars which of the host's calendars active pages read busy time from, and
    how many days ahead (the longest horizon among those pages); a sync is queued for
    calendars that became needed. Call after anything that changes pages or their calendars.

    The host's lock, held to the end of the caller's transaction, makes two concurrent
    page edits take turns: the second reads the pages only once the first has committed,
    so it cannot write back horizons computed without the first one's change.
    """
    with transaction.atomic():
        _lock_host(host.pk)
        horizons: dict[int, int] = {}
        for page in BookingPage.objects.filter(host=host, is_active=True):
            for calendar in busy_calendars_for(page=page):
                horizons[calendar.pk] = max(horizons.get(calendar.pk, 0), page.horizon_days)
        busy_horizons_set(host=host, horizons=horizons)


# --- reacting to calendar connections --------------------------------------------------------


def pages_assign_main_calendar(*, connection: CalendarConnection) -> list[BookingPage]:
    """Give the connection's default calendar to the host's pages that lack a usable main one."""
    default = (
        Calendar.objects.filter(connection=connection, is_active=True, can_edit=True)
        .order_by("-is_default", "name", "pk")
        .first()
    )
    if default is None or not connection.is_connected:
        return []
    changed = []
    for page in pages_needing_main_calendar(host=connection.host):
        page.main_calendar = default
        page.save(update_fields=["main_calendar", "updated_at"])
        changed.append(page)
    return changed


def bookings_remirror(*, host, now: datetime | None = None) -> int:
    """Ask again for every future confirmed booking of ``host`` in its page's calendars.

    Used after the host connects or reconnects an account: the events go to the
    (possibly new) main booking calendar, including bookings made while no account
    was connected; unchanged rows are left as they are, and rows of an old,
    disconnected account are left alone.
    """
    now = now or timezone.now()
    count = 0
    for booking in future_bookings_of_host(host=host, now=now):
        with transaction.atomic():
            booking_mirror(booking=booking)
        count += 1
    return count
