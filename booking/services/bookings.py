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

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext

from booking.bookable_pages import page_rules_kept
from booking.events import (
    Actor,
    BookingEventKind,
    EventPreparation,
    booking_event_emit,
    booking_event_prepare,
)
from booking.models import (
    Booking,
    BookingCohost,
    BookingPage,
    BookingStatus,
    TeamKind,
    TeamMember,
    location_wording,
)
from booking.selectors import (
    booking_cohosts,
    booking_cohosts_none,
    collective_organizer,
    day_window,
    members_with_live_calendar,
    page_with_calendars,
    round_robin_keeper,
    slot_busy_for,
    slot_is_free,
    slot_is_offered,
    slot_is_still_free,
    slots_on_day_of,
    team_bookings_count,
    team_page_slots,
    team_seats_for,
    teams_meeting_possible,
)
from booking.services.calendar_events import (
    NewBookingMirror,
    booking_mirror,
    booking_mirror_move_prepare,
    booking_mirror_prepare,
)
from booking.services.locking import host_lock
from booking.slots import Rules
from calendars.services.mirroring import event_unmirror
from ops.compiled_queries import query_rows, reads
from ops.metrics import booking_count

ROUND_ROBIN_PERIOD = timedelta(days=30)
TAKEN = gettext_noop("Sorry, that time was just taken. Please pick another time.")
MOVE_CLOSED = gettext_noop("This booking page no longer takes bookings, so it cannot be moved.")
NOT_OFFERED = gettext_noop("That is not one of the times this page offers.")

# --- errors ------------------------------------------------------------------------------


class BookingError(Exception):
    """A booking request that cannot be done; ``message`` is for the invitee.

    Raised with an English text marked for the catalogue (``gettext_noop``) and the
    values it names; ``message`` reads it in the language active where it is shown (the
    invitee's page, the API request's language), so a German page never says why in
    English.
    """

    field = "start"

    def __init__(self, text: str, **values: object):
        self.text = text
        self.values = values
        super().__init__(self._filled(text))

    @property
    def message(self) -> str:
        return self._filled(gettext(self.text))

    def _filled(self, text: str) -> str:
        if not self.values:
            return text
        return text % {name: str(value) for name, value in self.values.items()}


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
    # How times, dates and the emails read to them (booking.locales).
    locale: str = "en-US"


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

    Bookings of one host queue on the host's lock, so everything that does not need
    it is done before taking it: the page's rules and calendars (``bookable_page_for``
    loads them with the page), the start's notice and horizon, the busy calendar time,
    the booking and its calendar event, and what the event's consumers read ahead
    (``booking_event_prepare``: whether any webhook endpoint wants it). Then, in one
    transaction, the rows are written first (nobody else sees them before the commit)
    and the lock is taken last: under it, whether the page was edited meanwhile and
    the host's bookings around the slot, the booking's own left out, for the slot engine
    to say whether ``start`` is free. A slot taken meanwhile, or a start the rules never
    offer (asked only then), rolls the rows back. When the page was edited meanwhile, or the commit
    finds a row pointing at one deleted meanwhile, it is all done again the other way
    round (lock, page, checks, rows).
    """
    now = now or timezone.now()
    start = start.astimezone(UTC)
    rules = _rules_or_none(page)
    if page.team_kind:
        _check_offered(page=page, start=start, now=now, rules=rules)
        return _team_booking_create(page=page, start=start, invitee=invitee, actor=actor, now=now)
    # Whether the rules offer ``start`` at all is asked only when it is not free (a free
    # start is an offered one): the slot engine runs once for a booking that is made.
    _check_within_reach(page=page, start=start, now=now)
    if rules is None:
        raise InvalidStart(NOT_OFFERED)
    booking, mirror = _booking_prepare(page=page, start=start, invitee=invitee)
    # Busy time is written by the calendar sync, which never takes the host's lock:
    # reading it now is as good as reading it under the lock.
    busy = slot_busy_for(page=page, rules=rules, start=start)
    event = booking_event_prepare(kind=BookingEventKind.CONFIRMED, host_ids=[page.host_id])
    try:
        with transaction.atomic():
            _booking_write(booking=booking, mirror=mirror, actor=actor, now=now, prepared=event)
            host_lock(page.host_id)
            # Read now, under the lock, in one statement: whether the page was edited
            # (every page edit saves the page, under this lock) or closed, and every
            # booking committed before the lock, not this one.
            free = slot_is_still_free(
                page=page, rules=rules, start=start, now=now, busy=busy, booking=booking
            )
            if free is None:
                raise _PageEdited
            if not free:
                raise _not_free(rules=rules, start=start, now=now)
    except (_PageEdited, IntegrityError):
        # The page was edited meanwhile, or a row written before the lock points at one
        # deleted meanwhile (the commit checks foreign keys: a webhook endpoint removed
        # while the booking waited): all rolled back, and done again lock first.
        return _booking_create_locked(
            page_pk=page.pk,
            host_id=page.host_id,
            start=start,
            invitee=invitee,
            actor=actor,
            now=now,
            prepared=event,
        )
    return booking


class _PageEdited(Exception):
    """The page changed between reading it and taking the host's lock (rolls back)."""


def _booking_create_locked(
    *,
    page_pk: int,
    host_id: int,
    start: datetime,
    invitee: Invitee,
    actor: Actor,
    now: datetime,
    prepared: EventPreparation,
) -> Booking:
    """``booking_create`` the other way round, when writing first did not work out: the
    host's lock first, then the page as it now is, the checks and the rows."""
    with transaction.atomic():
        host_lock(host_id)
        page = page_with_calendars(pk=page_pk)
        if page is None or not page.is_active:
            raise PageClosed(gettext_noop("This booking page is not taking bookings."))
        rules = _rules_or_none(page)
        if rules is None or not slot_is_free(page=page, rules=rules, start=start, now=now):
            raise SlotTaken(TAKEN)
        booking, mirror = _booking_prepare(page=page, start=start, invitee=invitee)
        _booking_write(booking=booking, mirror=mirror, actor=actor, now=now, prepared=prepared)
    return booking


def _booking_write(
    *,
    booking: Booking,
    mirror: NewBookingMirror,
    actor: Actor,
    now: datetime,
    prepared: EventPreparation,
) -> None:
    """A new personal booking's rows: itself, its calendar events, its event's rows."""
    booking.insert()
    mirror.write()
    booking_event_emit(
        booking=booking, kind=BookingEventKind.CONFIRMED, actor=actor, now=now, prepared=prepared
    )
    transaction.on_commit(booking_count)


def _booking_prepare(
    *, page: BookingPage, start: datetime, invitee: Invitee
) -> tuple[Booking, NewBookingMirror]:
    """The booking of a personal page, not saved yet, and its calendar events."""
    booking = _booking_new(page=page, host=page.host, start=start, invitee=invitee)
    booking_cohosts_none(booking=booking)  # only team bookings have cohosts
    return booking, booking_mirror_prepare(booking=booking)


def booking_location(*, page: BookingPage, host_id: int) -> dict:
    """The location fields of a booking of ``page`` hosted by ``host_id`` made now: the
    page's facts, whether a Teams link can come, and the text in the active language
    (for code that makes bookings in bulk, as the benchmarks do, once per page)."""
    no_join_link = not teams_meeting_possible(page=page, host_id=host_id)
    return {
        "location": location_wording(
            page.location_kind, page.location_details, no_join_link=no_join_link
        ),
        "location_kind": page.location_kind,
        "location_details": page.location_details,
        "no_join_link": no_join_link,
    }


def _booking_new(*, page: BookingPage, start: datetime, invitee: Invitee, **host) -> Booking:
    """An unsaved booking of ``page`` at ``start`` for ``invitee``, with the page's title
    and location as they are now (later page edits leave it as booked); ``host`` is
    ``host=<user>`` or ``host_id=<id>`` (a team page's member)."""
    host_id = host["host"].pk if "host" in host else host["host_id"]
    return Booking(
        page=page,
        title=page.title,
        **booking_location(page=page, host_id=host_id),
        start=start,
        end=start + timedelta(minutes=page.duration_minutes),
        invitee_name=invitee.name,
        invitee_email=invitee.email,
        invitee_time_zone=invitee.time_zone,
        invitee_locale=invitee.locale,
        answers=[dict(answer) for answer in invitee.answers],
        **host,
    )


def _page_unchanged(page: BookingPage) -> bool:
    """Whether ``page`` still takes bookings and was not edited since it was read."""
    return bool(query_rows(_page_if_unchanged, page.pk, page.updated_at))


@reads(BookingPage)
def _page_if_unchanged(pk: int, updated_at: datetime):
    rows = BookingPage.objects.filter(pk=pk, is_active=True, updated_at=updated_at)
    return rows.order_by().values_list("pk")[:1]


def _team_booking_create(
    *, page: BookingPage, start: datetime, invitee: Invitee, actor: Actor, now: datetime
) -> Booking:
    """A booking on a team page: round-robin gives it to one free member, collective to
    all of them (the first in the page's fixed order whose calendar is connected organizes,
    the others attend).

    Every member's host row is locked in ascending id order, the same order every team
    booking uses (a personal booking locks one row), so racing bookings queue rather
    than deadlock; who is free is then decided again inside the transaction.
    """
    with transaction.atomic():
        seats = team_seats_for(page=page)
        for user_id in sorted(seat.user_id for seat in seats):
            host_lock(user_id)
        page = BookingPage.objects.filter(pk=page.pk).first()
        if page is None or not page.is_active:
            raise PageClosed(gettext_noop("This booking page is not taking bookings."))
        seats = team_seats_for(page=page)  # as of now that the rows are held
        free = _free_members(page=page, start=start, now=now)
        if not free:
            raise SlotTaken(TAKEN)
        if page.team_kind == TeamKind.COLLECTIVE:
            host_id = collective_organizer(user_ids=free)
            attending = [user_id for user_id in free if user_id != host_id]
        else:
            host_id, attending = round_robin_pick(page=page, seats=seats, free=free, now=now), []
        booking = _booking_new(page=page, host_id=host_id, start=start, invitee=invitee)
        booking.save(force_insert=True)
        BookingCohost.objects.bulk_create(
            BookingCohost(booking=booking, user_id=user_id) for user_id in attending
        )
        booking_mirror(booking=booking)
        booking_event_emit(booking=booking, kind=BookingEventKind.CONFIRMED, actor=actor, now=now)
    return booking


def _free_members(
    *, page: BookingPage, start: datetime, now: datetime, exclude_booking: Booking | None = None
) -> tuple[int, ...]:
    """The members free at ``start`` (collective: all of them, or none)."""
    local_day = start.astimezone(ZoneInfo(page.time_zone)).date()
    window = day_window(first=local_day, last=local_day, time_zone=page.time_zone)
    for slot in team_page_slots(
        page=page, start=window[0], end=window[1], now=now, exclude_booking=exclude_booking
    ):
        if slot.start == start:
            return slot.free
    return ()


def _team_host_for_move(*, booking: Booking, start: datetime, now: datetime) -> int | None:
    """Who hosts a team booking moved to ``start``, or None when it cannot move there.

    Collective: its organizer, when every member is free. Round-robin: its member, when
    free then; a member the page can no longer give meetings to (removed from it or
    from the organization, or not connected while others are: ``round_robin_keeper``)
    hands it to whoever of the free members ``round_robin_pick`` chooses."""
    page = booking.page
    free = _free_members(page=page, start=start, now=now, exclude_booking=booking)
    if page.team_kind == TeamKind.COLLECTIVE:
        return collective_organizer_for_move(booking=booking) if free else None
    keeper = round_robin_keeper(booking=booking)
    if keeper is not None:
        return keeper if keeper in free else None
    if not free:
        return None
    return round_robin_pick(page=page, seats=team_seats_for(page=page), free=free, now=now)


def collective_organizer_for_move(*, booking: Booking) -> int:
    """Who organizes a collective meeting once moved: its organizer while their calendar
    is connected (or nobody's is); else the first of its members whose calendar is
    (``collective_organizer``), the organizer then attending. Left with a disconnected
    organizer, the moved event would wait in their account and the other members'
    Outlook would keep the old time."""
    people = sorted([booking.host_id, *(row.user_id for row in booking_cohosts(booking=booking))])
    live = members_with_live_calendar(user_ids=people)
    if booking.host_id in live or not live:
        return booking.host_id
    return collective_organizer(user_ids=people)


def round_robin_pick(
    *, page: BookingPage, seats: Sequence[TeamMember], free: Sequence[int], now: datetime
) -> int:
    """Who of the ``free`` members gets the booking: the highest priority, then the
    fewest of the page's bookings made in the last 30 days per unit of weight, then
    the lowest user id (deterministic)."""
    by_user = {seat.user_id: seat for seat in seats if seat.user_id in free}
    counts = team_bookings_count(page=page, user_ids=list(by_user), since=now - ROUND_ROBIN_PERIOD)

    def rank(user_id: int) -> tuple:
        seat = by_user[user_id]
        return (-seat.priority, Fraction(counts[user_id], seat.weight), user_id)

    return min(by_user, key=rank)


def booking_reschedule(
    *,
    booking: Booking,
    start: datetime,
    actor: Actor = Actor.INVITEE,
    now: datetime | None = None,
) -> Booking:
    """Move a confirmed, future booking to another free slot of its page.

    Same checks as ``booking_create``; the booking keeps its uuid (and so its calendar
    events, which are updated), and its iCalendar SEQUENCE is bumped.

    On a personal page it has ``booking_create``'s shape: the page (with its rules and
    calendars), the checks against the rules, the busy calendar time, the moved event
    and what the event's consumers read ahead are read before the host's lock; under it,
    the booking as it now is, whether the page was edited meanwhile (then its rules are
    read again there) and the host's bookings around the slot, the booking's own left
    out. A team page's booking locks its members first (``_team_booking_reschedule``).
    """
    now = now or timezone.now()
    start = start.astimezone(UTC)
    page = booking.page
    if page is None or not page.is_active:
        raise PageClosed(MOVE_CLOSED)
    if page.team_kind:
        _check_offered(page=page, start=start, now=now)
        return _team_booking_reschedule(booking=booking, start=start, actor=actor, now=now)
    page = page_with_calendars(pk=page.pk)
    if page is None or not page.is_active:
        raise PageClosed(MOVE_CLOSED)
    rules = _rules_or_none(page)
    _check_offered(page=page, start=start, now=now, rules=rules)
    # Busy time is written by the calendar sync, which never takes the host's lock.
    busy = slot_busy_for(page=page, rules=rules, start=start) if rules else None
    mirror = booking_mirror_move_prepare(booking=_moved(booking, page=page, start=start))
    event = booking_event_prepare(kind=BookingEventKind.RESCHEDULED, host_ids=[booking.host_id])
    with transaction.atomic():
        host_lock(booking.host_id)
        booking = Booking.objects.select_related("page", "host").get(pk=booking.pk)
        booking_check_changeable(booking=booking, now=now)
        if start == booking.start:
            return booking
        if booking.page_id != page.pk or not _page_unchanged(page):
            # Edited (or closed) meanwhile: its rules and calendars as they now are.
            page = page_with_calendars(pk=booking.page_id) if booking.page_id else None
            if page is None or not page.is_active:
                raise PageClosed(MOVE_CLOSED)
            rules, busy, mirror = _rules_or_none(page), None, None
        if rules is None or not slot_is_free(
            page=page, rules=rules, start=start, now=now, busy=busy, exclude_booking=booking
        ):
            raise SlotTaken(TAKEN)
        _move(booking, page=page, start=start)
        if mirror is None:
            booking_mirror(booking=booking)
        else:
            mirror.write()
        booking_event_emit(
            booking=booking,
            kind=BookingEventKind.RESCHEDULED,
            actor=actor,
            now=now,
            prepared=event,
        )
    return booking


def _moved(booking: Booking, *, page: BookingPage, start: datetime) -> Booking:
    """A copy of ``booking`` as it will be once moved to ``start`` (not saved)."""
    moved = copy.copy(booking)
    moved.page = page
    moved.start = start
    moved.end = start + timedelta(minutes=page.duration_minutes)
    return moved


def _move(booking: Booking, *, page: BookingPage, start: datetime) -> None:
    booking.rescheduled_from_start = booking.start
    booking.start = start
    booking.end = start + timedelta(minutes=page.duration_minutes)
    booking.sequence += 1
    booking.save()


def _team_booking_reschedule(
    *, booking: Booking, start: datetime, actor: Actor, now: datetime
) -> Booking:
    """``booking_reschedule`` on a team page: every member's row locked first (in the
    order team bookings lock in), then who is free is decided under the locks."""
    page = booking.page
    with transaction.atomic():
        people = {booking.host_id} | {seat.user_id for seat in team_seats_for(page=page)}
        for user_id in sorted(people):
            host_lock(user_id)
        booking = Booking.objects.select_related("page", "host").get(pk=booking.pk)
        booking_check_changeable(booking=booking, now=now)
        if start == booking.start:
            return booking
        if not _team_is_free(page=booking.page, start=start, now=now, exclude_booking=booking):
            raise SlotTaken(TAKEN)
        host_id = _team_host_for_move(booking=booking, start=start, now=now)
        if host_id is None:
            raise SlotTaken(TAKEN)
        previous_host_id = None
        if host_id != booking.host_id:
            # Out of the former member's calendar, also one that is disconnected now (it
            # would come back when they reconnect); booking_mirror then makes the new one.
            event_unmirror(source=booking.mirror_source)
            if booking.page.team_kind == TeamKind.COLLECTIVE:
                # Another member organizes; the former organizer attends (no handover).
                _cohost_swap(booking=booking, organizer_id=host_id)
                booking.host_id = host_id
            else:
                previous_host_id, booking.host_id = booking.host_id, host_id
        _move(booking, page=booking.page, start=start)
        booking_mirror(booking=booking)
        booking_event_emit(
            booking=booking,
            kind=BookingEventKind.RESCHEDULED,
            actor=actor,
            now=now,
            previous_host_id=previous_host_id,
        )
    return booking


def _cohost_swap(*, booking: Booking, organizer_id: int) -> None:
    """``organizer_id`` (attending ``booking``) organizes it now; its organizer attends."""
    BookingCohost.objects.filter(booking=booking, user_id=organizer_id).delete()
    BookingCohost.objects.create(booking=booking, user_id=booking.host_id)


def booking_cancel(
    *, booking: Booking, actor: Actor, reason: str = "", now: datetime | None = None
) -> Booking:
    """Cancel a confirmed, future booking on behalf of ``actor`` (the invitee from their
    link, the host from Setup); its calendar events are asked to go away. What the
    event's consumers read ahead (whether a webhook endpoint wants it) is read before
    the host's lock."""
    now = now or timezone.now()
    event = booking_event_prepare(kind=BookingEventKind.CANCELLED, host_ids=[booking.host_id])
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
        booking_event_emit(
            booking=booking,
            kind=BookingEventKind.CANCELLED,
            actor=actor,
            now=now,
            prepared=event,
        )
    return booking


def _rules_or_none(page: BookingPage) -> Rules | None:
    """The page's rules, read once per booking (a page kept per process carries them);
    None when the engine refuses them (the page then offers nothing, as ``page_slots``
    says)."""
    return page_rules_kept(page)


def _not_free(*, rules: Rules, start: datetime, now: datetime) -> BookingError:
    """Why a personal page's ``start`` that is not free is refused: taken, or never
    offered by the page's rules (the check ``_check_offered`` makes first elsewhere)."""
    if slot_is_offered(rules=rules, start=start, now=now):
        return SlotTaken(TAKEN)
    return InvalidStart(NOT_OFFERED)


def _check_offered(
    *, page: BookingPage, start: datetime, now: datetime, rules: Rules | None = None
) -> None:
    """Refuse starts the page's rules never offer, with a message that says why."""
    _check_within_reach(page=page, start=start, now=now)
    if page.team_kind:
        offered = slots_on_day_of(page=page, moment=start, now=now, rules_only=True)
        if start in {slot.start for slot in offered}:
            return
    elif rules is not None and slot_is_offered(rules=rules, start=start, now=now):
        return
    raise InvalidStart(NOT_OFFERED)


def _check_within_reach(*, page: BookingPage, start: datetime, now: datetime) -> None:
    """Refuse starts in the past, sooner than the page's notice or past its horizon."""
    zone = ZoneInfo(page.time_zone)
    if start <= now:
        raise InvalidStart(gettext_noop("That time is in the past."))
    if start < now + timedelta(minutes=page.minimum_notice_minutes):
        raise InvalidStart(
            gettext_noop("This page needs at least %(notice)s notice."),
            notice=Span(page.minimum_notice_minutes),
        )
    too_far = InvalidStart(
        gettext_noop(
            "This page takes bookings up to %(days)s days ahead; that date is further out."
        ),
        days=page.horizon_days,
    )
    # Days away in UTC first: near the end of year 9999 the page's zone could not show it.
    if start - now > timedelta(days=page.horizon_days + 2):
        raise too_far
    last_day = now.astimezone(zone).date() + timedelta(days=page.horizon_days)
    if start.astimezone(zone).date() > last_day:
        raise too_far


def _team_is_free(
    *, page: BookingPage, start: datetime, now: datetime, exclude_booking: Booking
) -> bool:
    slots = slots_on_day_of(page=page, moment=start, now=now, exclude_booking=exclude_booking)
    return start in {slot.start for slot in slots}


def booking_check_changeable(*, booking: Booking, now: datetime) -> None:
    """Raise ``BookingNotChangeable`` unless the booking is confirmed and still to come."""
    if not booking.is_confirmed:
        raise BookingNotChangeable(gettext_noop("This booking was cancelled."))
    if booking.start <= now:
        raise BookingNotChangeable(
            gettext_noop("This meeting has already started, so it can't be changed.")
        )


@dataclass(frozen=True)
class Span:
    """A length of notice, worded when it is read (in the reader's language)."""

    minutes: int

    def __str__(self) -> str:
        if self.minutes % (24 * 60) == 0:
            days = self.minutes // (24 * 60)
            return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
        if self.minutes % 60 == 0:
            hours = self.minutes // 60
            return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}
        minutes = self.minutes
        return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
