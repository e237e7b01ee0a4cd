"""A booking's life: made and moved by the invitee (the public side), cancelled by either side.

Every create and reschedule re-checks the slot inside the transaction that writes it,
while holding a lock on the host's user row, so two invitees can never get the same
time (PostgreSQL: ``SELECT … FOR UPDATE``; SQLite: the IMMEDIATE transaction already
serializes writers). The calendar push is an outbox row written in the same
transaction (``booking.services.calendar_events``). Every change is announced as a
booking event (``booking.events``) from that transaction, with its actor; emails (and
later webhooks, reminders, metrics) subscribe. Nothing here waits on Microsoft, on
the mail server or on the broker. The host side (Setup → Meetings) builds here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from booking.events import Actor, BookingEventKind, booking_event_emit
from booking.models import Booking, BookingPage, BookingStatus
from booking.selectors import page_rules_for, page_with_calendars, slots_on_day_of
from booking.services.calendar_events import booking_mirror
from booking.services.locking import host_lock
from booking.slots import Rules
from calendars.services.mirroring import event_unmirror

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
    rules = _rules_or_none(page)
    _check_offered(page=page, start=start, now=now, rules=rules)
    with transaction.atomic():
        host_lock(page.host_id)
        seen = page
        page = page_with_calendars(pk=page.pk)
        if page is None or not page.is_active:
            raise PageClosed("This booking page is not taking bookings.")
        if page.updated_at != seen.updated_at:
            rules = None  # edited meanwhile (every page edit saves the page): read them again
        if not _is_free(page=page, start=start, now=now, rules=rules):
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
        host_lock(booking.host_id)
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
        host_lock(booking.host_id)
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


def _rules_or_none(page: BookingPage) -> Rules | None:
    """The page's rules, read once per booking; None when the engine refuses them (the
    page then offers nothing, as ``page_slots`` says)."""
    try:
        return page_rules_for(page=page)
    except ValueError:
        return None


def _check_offered(
    *, page: BookingPage, start: datetime, now: datetime, rules: Rules | None = None
) -> None:
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
    offered = slots_on_day_of(page=page, moment=start, now=now, rules_only=True, rules=rules)
    if start not in {slot.start for slot in offered}:
        raise InvalidStart("That is not one of the times this page offers.")


def _is_free(
    *,
    page: BookingPage,
    start: datetime,
    now: datetime,
    exclude_booking: Booking | None = None,
    rules: Rules | None = None,
) -> bool:
    slots = slots_on_day_of(
        page=page, moment=start, now=now, exclude_booking=exclude_booking, rules=rules
    )
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
