"""Reads for booking pages: the rules, busy time and bookings the slot engine needs.

The slot engine (``booking.slots``) never touches the database; these functions
load plain values for it. Nothing here writes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, Prefetch, Q, QuerySet

from accounts.selectors import membership_of
from booking.models import (
    Booking,
    BookingCohost,
    BookingPage,
    BookingStatus,
    DateOverride,
    HoursSource,
    LocationKind,
    MemberHours,
    PageCalendar,
    TeamKind,
    TeamMember,
    WeeklyHours,
)
from booking.slots import (
    Interval,
    MemberTime,
    Rules,
    TeamSlot,
    WallRange,
    WorkingHours,
    available_slots,
    team_slots,
)
from calendars.events import Availability
from calendars.models import BusyInterval, Calendar, ConnectionStatus
from calendars.selectors import connection_latest_for
from ops.compiled_queries import query_objects, query_rows, reads

log = logging.getLogger(__name__)

# Bookings and busy time this far outside a query window can still matter (buffers of
# up to a day, and the per-day cap counted on whole days in the page's zone).
MARGIN = timedelta(days=2)


# --- pages ---------------------------------------------------------------------------


def pages_for_host(*, host) -> QuerySet[BookingPage]:
    return BookingPage.objects.filter(host=host).order_by("title", "pk")


def page_for_host(*, host, pk: int) -> BookingPage | None:
    """The host's own page, or None (also for another host's page)."""
    return BookingPage.objects.filter(host=host, pk=pk).first()


def page_editable_by(*, user, pk: int) -> BookingPage | None:
    """A page whose hours, questions and details ``user`` may edit, or None: their own
    personal page, or a team page of the organization they are a current admin of
    (whoever made it; a member who is not an admin edits no team page, nor its maker
    once they are no longer an admin)."""
    page = BookingPage.objects.filter(pk=pk).first()
    if page is None:
        return None
    if not page.team_kind:
        return page if page.host_id == user.pk else None
    membership = membership_of(user=user)
    if membership is None or not membership.is_admin:
        return None
    return page if page.organization_id == membership.organization_id else None


def public_page_for(*, slug: str, with_host: bool = True) -> BookingPage | None:
    """The page at ``/book/<slug>/`` whether or not it takes bookings; None if unknown.

    ``with_host=False`` leaves the host to be loaded when used (the JSON API's pages
    rarely need it, and joining the user row costs a third of a cached slots answer).
    """
    found = query_objects(_page_at, slug, fixed=(with_host,))
    return found[0] if found else None


@reads(BookingPage)
def _page_at(with_host: bool, slug: str) -> QuerySet:
    """The page at ``slug`` (unique), compiled once per process: every public request
    reads it, and compiling the query cost a fifth of a cached slots answer."""
    pages = BookingPage.objects.select_related("host") if with_host else BookingPage.objects
    return pages.filter(slug=slug)


@dataclass(frozen=True)
class PageStamp:
    """What the booking page's HTML is made from, as one row: the page's id, host and last
    edit, whether it takes bookings, who may frame it, and the names it shows."""

    pk: int
    host_id: int
    is_active: bool
    updated_at: datetime  # only compared, never shown
    embed_origins: str
    names: tuple[str, str, str]  # the host's name and email, the organization's name

    def frame_ancestors(self) -> list[str]:
        return self.embed_origins.split() or ["*"]


_STAMP_FIELDS = (
    "pk",
    "host_id",
    "is_active",
    "updated_at",
    "embed_origins",
    "host__name",
    "host__email",
    "organization__name",
)


@reads(BookingPage)
def _page_stamp_rows(slug: str):
    return BookingPage.objects.filter(slug=slug).values_list(*_STAMP_FIELDS).order_by()[:1]


def public_page_stamp_for(*, slug: str) -> PageStamp | None:
    """The page at ``/book/<slug>/`` as a ``PageStamp`` (one query, its SQL compiled once
    per process: compiling it with the ORM cost a third of a cached booking page), or None
    if unknown."""
    rows = query_rows(_page_stamp_rows, slug)
    if not rows:
        return None
    pk, host_id, is_active, updated_at, embed_origins, *names = rows[0]
    return PageStamp(
        pk, host_id, is_active, updated_at, embed_origins, tuple(n or "" for n in names)
    )


# --- rules ---------------------------------------------------------------------------


def _page_rows(page: BookingPage, name: str, *order: str) -> Iterable:
    """The page's ``name`` rows in ``order``: as loaded with the page (``_with_calendars``
    loads them in that order), else from the database."""
    if name in getattr(page, "_prefetched_objects_cache", {}):
        return getattr(page, name).all()
    return getattr(page, name).all().order_by(*order)


def weekly_ranges_for(*, page: BookingPage) -> dict[int, list[WallRange]]:
    ranges: dict[int, list[WallRange]] = defaultdict(list)
    for row in _page_rows(page, "weekly_hours", *WEEKLY_ORDER):
        ranges[row.weekday].append((row.start, row.end))
    return dict(ranges)


def override_ranges_for(*, page: BookingPage) -> dict[date, list[WallRange]]:
    """Each overridden date's ranges; an empty list closes the date."""
    ranges: dict[date, list[WallRange]] = {}
    for row in _page_rows(page, "date_overrides", *OVERRIDE_ORDER):
        day = ranges.setdefault(row.date, [])  # a closed date stays an empty list
        if row.start is not None:
            day.append((row.start, row.end))
    return ranges


def page_rules_for(*, page: BookingPage) -> Rules:
    """The page's availability as the slot engine's ``Rules`` (raises ValueError if impossible)."""
    return Rules(
        time_zone=page.time_zone,
        weekly_hours=weekly_ranges_for(page=page),
        date_overrides=override_ranges_for(page=page),
        duration=timedelta(minutes=page.duration_minutes),
        increment=timedelta(minutes=page.increment_minutes),
        buffer_before=timedelta(minutes=page.buffer_before_minutes),
        buffer_after=timedelta(minutes=page.buffer_after_minutes),
        minimum_notice=timedelta(minutes=page.minimum_notice_minutes),
        horizon_days=page.horizon_days,
        max_per_day=page.max_per_day,
    )


def page_rules_or_none(*, page: BookingPage) -> Rules | None:
    """``page_rules_for``, or None when the engine refuses the page's rules (the page then
    offers nothing, as ``page_slots`` says)."""
    try:
        return page_rules_for(page=page)
    except ValueError:
        return None


# --- calendars -----------------------------------------------------------------------


def host_calendars(*, host) -> QuerySet[Calendar]:
    """The calendars of the host's connected account that can hold bookings."""
    return Calendar.objects.filter(
        connection__host=host,
        connection__status=ConnectionStatus.CONNECTED,
        is_active=True,
        can_edit=True,
    ).order_by("-is_default", "name", "pk")


def _usable(calendar: Calendar | None, host_id: int) -> bool:
    return (
        calendar is not None
        and calendar.is_active
        and calendar.connection.host_id == host_id
        and calendar.connection.status == ConnectionStatus.CONNECTED
    )


def main_calendar_for(*, page: BookingPage) -> Calendar | None:
    """The page's main booking calendar, if it is in the host's connected account."""
    if page.main_calendar_id is None:
        return None
    if BookingPage.main_calendar.is_cached(page):  # loaded with its connection (select_related)
        calendar = page.main_calendar
    else:
        calendar = Calendar.objects.select_related("connection").get(pk=page.main_calendar_id)
    return calendar if _usable(calendar, page.host_id) else None


def teams_meeting_possible(*, page: BookingPage, host_id: int | None = None) -> bool:
    """Whether a booking of the Teams page ``page`` can get a Teams meeting: its calendar
    (a team page's: member ``host_id``'s) can make one. Without a calendar, or for a page
    that is not a Teams page, nothing says otherwise: True."""
    if page.location_kind != LocationKind.TEAMS:
        return True
    if page.team_kind:
        calendars = member_target_calendars(user_id=host_id) if host_id else []
        calendar = calendars[0] if calendars else None
    else:
        calendar = main_calendar_for(page=page)
    return calendar is None or calendar.online_meetings


def page_with_calendars(*, pk: int) -> BookingPage | None:
    """The page with what a booking reads: its host, main calendar and calendar choices
    (with their connections), weekly hours, date overrides and questions, in five
    queries (under the host's lock, when the page was edited meanwhile)."""
    return _with_calendars(BookingPage.objects.all()).filter(pk=pk).first()


def bookable_page_for(*, slug: str) -> BookingPage | None:
    """The page at ``/book/<slug>/`` with what a booking reads before taking the host's
    lock (``page_with_calendars``); None if unknown. The booking API keeps it per process
    (``booking.bookable_pages``)."""
    return _with_calendars(BookingPage.objects.all()).filter(slug=slug).first()


WEEKLY_ORDER = ("weekday", "start")
OVERRIDE_ORDER = ("date", "start")


def _with_calendars(pages: QuerySet[BookingPage]) -> QuerySet[BookingPage]:
    uses = PageCalendar.objects.select_related("calendar__connection").order_by("pk")
    return pages.select_related("host", "main_calendar__connection").prefetch_related(
        Prefetch("calendar_uses", queryset=uses),
        Prefetch("weekly_hours", queryset=WeeklyHours.objects.order_by(*WEEKLY_ORDER)),
        Prefetch("date_overrides", queryset=DateOverride.objects.order_by(*OVERRIDE_ORDER)),
        "questions",  # in their own order (position)
    )


def _page_uses(page: BookingPage, **flag: bool) -> list[PageCalendar]:
    """The page's calendar choices with ``flag`` set, from ``page_with_calendars`` if it
    loaded them, else from the database."""
    if "calendar_uses" in getattr(page, "_prefetched_objects_cache", {}):
        return [
            use
            for use in page.calendar_uses.all()
            if all(getattr(use, k) == v for k, v in flag.items())
        ]
    return list(
        PageCalendar.objects.filter(page=page, **flag)
        .select_related("calendar__connection")
        .order_by("pk")
    )


def _uses(page: BookingPage, **flag: bool) -> list[Calendar]:
    uses = _page_uses(page, **flag)
    return [use.calendar for use in uses if _usable(use.calendar, page.host_id)]


def busy_calendars_for(*, page: BookingPage) -> list[Calendar]:
    """The main calendar and the calendars marked "retrieve busy time".

    A team page reads its members' own calendars instead (``member_busy_calendars``).
    """
    if page.team_kind:
        return []
    main = main_calendar_for(page=page)
    extra = [c for c in _uses(page, retrieve_busy=True) if main is None or c.pk != main.pk]
    return ([main] if main else []) + extra


def target_calendars_for(*, page: BookingPage) -> list[Calendar]:
    """The calendars a booking of the page is written to: main plus "add bookings" ones.

    They are in the host's latest account even while it is disconnected: the rows then
    wait there (Setup counts them) and go out when the host reconnects it. Connecting
    another account instead re-mirrors every future booking there.
    """
    if page.team_kind:
        return []  # a team booking goes to its member's calendar: member_target_calendars
    latest = _main_connection_if_live(page) or connection_latest_for(host=page.host_id)
    if latest is None:
        return []

    def target(calendar: Calendar | None) -> bool:
        return calendar is not None and calendar.is_active and calendar.connection_id == latest.pk

    main = page.main_calendar if target(page.main_calendar) else None
    extra = [
        use.calendar
        for use in _page_uses(page, add_bookings=True)
        if target(use.calendar) and (main is None or use.calendar_id != main.pk)
    ]
    return ([main] if main else []) + extra


def _main_connection_if_live(page: BookingPage):
    """The main calendar's connection when it was loaded with the page and is the host's
    live one (a host has at most one), which is then their latest; else None."""
    if page.main_calendar_id is None or not BookingPage.main_calendar.is_cached(page):
        return None
    connection = page.main_calendar.connection
    live = connection.host_id == page.host_id and connection.status == ConnectionStatus.CONNECTED
    return connection if live else None


def busy_intervals_for(*, page: BookingPage, start: datetime, end: datetime) -> list[Interval]:
    """Busy time from the page's busy calendars that overlaps [start, end), in UTC."""
    calendars = busy_calendars_for(page=page)
    if not calendars:
        return []
    rows = query_rows(
        _busy_rows,
        [calendar.pk for calendar in calendars],
        start,
        end,
        fixed=(page.block_tentative,),
    )
    # A row the sync stored without length blocks nothing (and is no valid Interval).
    return [Interval(s, e) for s, e in rows if e > s]


@reads(BusyInterval)
def _busy_rows(tentative: bool, calendar_ids: list[int], start: datetime, end: datetime):
    blocking = Availability.blocking(tentative=tentative)
    return BusyInterval.objects.filter(
        calendar_id__in=calendar_ids, start__lt=end, end__gt=start, show_as__in=blocking
    ).values_list("start", "end")


# --- bookings --------------------------------------------------------------------------


def host_bookings_between(
    *, host_id: int, start: datetime, end: datetime, exclude_pk: int | None = None
) -> QuerySet[Booking]:
    """The host's confirmed bookings (on any page, collective ones they attend too)
    that overlap [start, end)."""
    attending = BookingCohost.objects.filter(user_id=host_id).values("booking_id")
    bookings = Booking.objects.filter(
        Q(host_id=host_id) | Q(pk__in=attending),
        status=BookingStatus.CONFIRMED,
        start__lt=end,
        end__gt=start,
    )
    if exclude_pk is not None:
        bookings = bookings.exclude(pk=exclude_pk)
    return bookings


def page_slots(
    *,
    page: BookingPage,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_booking: Booking | None = None,
    rules_only: bool = False,
    rules: Rules | None = None,
) -> list[Interval]:
    """Free slots of the page that start in [start, end), in UTC, sorted.

    Bookings on the page count towards its daily cap and are padded by its buffers;
    bookings on the host's other pages, and busy calendar time, block time too.
    ``exclude_booking`` is left out (a booking being rescheduled may move onto itself).
    ``rules_only`` asks what the page's rules alone offer, as if no booking and no busy
    time existed (to tell "never offered" from "taken"). ``rules``: the page's rules
    when the caller already loaded them (``page_rules_for``) for this very page state.
    """
    if page.team_kind:
        # A round-robin meeting being moved stays with its member (the move re-checks
        # that): offer only the times they are free, not every time someone is. A member
        # the page can no longer give meetings to (``round_robin_keeper``) keeps none:
        # the page's times are offered, and the move gives it to whoever is free.
        keeper = None
        if exclude_booking is not None and page.team_kind == TeamKind.ROUND_ROBIN:
            keeper = round_robin_keeper(booking=exclude_booking)
        found = team_page_slots(
            page=page,
            start=start,
            end=end,
            now=now,
            exclude_booking=exclude_booking,
            rules_only=rules_only,
            name_free=keeper is not None,
        )
        return [
            Interval.trusted(slot.start, slot.end)
            for slot in found
            if keeper is None or keeper in slot.free
        ]
    if rules is None:
        rules = _rules_or_none(page)
    if rules is None:
        return []
    window_start, window_end = start - MARGIN, end + MARGIN
    busy: list[Interval] = []
    own: list[Interval] = []
    if not rules_only:
        busy = busy_intervals_for(page=page, start=window_start, end=window_end)
        exclude_pk = exclude_booking.pk if exclude_booking else None
        for page_id, b_start, b_end in host_bookings_between(
            host_id=page.host_id, start=window_start, end=window_end, exclude_pk=exclude_pk
        ).values_list("page_id", "start", "end"):
            (own if page_id == page.pk else busy).append(Interval(b_start, b_end))
    slots = available_slots(rules=rules, busy=busy, bookings=own, start=start, end=end, now=now)
    return [slot for slot in slots if start <= slot.start < end]


def _rules_or_none(page: BookingPage) -> Rules | None:
    try:
        return page_rules_for(page=page)
    except ValueError:
        # Rules saved before the engine grew stricter: offer nothing rather than fail.
        log.warning(
            "booking page %s has rules the slot engine refuses; it offers no slots", page.pk
        )
        return None


# --- team pages ------------------------------------------------------------------------------


def team_seats_for(*, page: BookingPage) -> list[TeamMember]:
    """The page's members who are still in its organization, in a fixed order (user id)."""
    return list(
        TeamMember.objects.select_related("user")
        .filter(
            page=page,
            user__memberships__organization_id=page.organization_id,
            user__memberships__removed_at__isnull=True,
        )
        .order_by("user_id")
    )


def team_pages_by_member(*, organization_id: int) -> dict[int, list[BookingPage]]:
    """The organization's team pages each person has a seat on, by user id, by title (one
    query)."""
    seats = (
        TeamMember.objects.filter(page__organization_id=organization_id)
        .exclude(page__team_kind="")
        .select_related("page")
        .order_by("page__title", "page_id")
    )
    found: dict[int, list[BookingPage]] = defaultdict(list)
    for seat in seats:
        found[seat.user_id].append(seat.page)
    return dict(found)


DEFAULT_MEMBER_HOURS: dict[int, list[WallRange]] = {
    weekday: [(time(9), time(17))] for weekday in range(5)
}


def member_weekly_ranges(*, user) -> dict[int, list[WallRange]]:
    """A person's own weekly hours (Monday to Friday 9:00-17:00 until they set them)."""
    ranges: dict[int, list[WallRange]] = defaultdict(list)
    for row in MemberHours.objects.filter(user=user).order_by("weekday", "start"):
        ranges[row.weekday].append((row.start, row.end))
    return dict(ranges) or {day: list(r) for day, r in DEFAULT_MEMBER_HOURS.items()}


def members_working_hours(*, seats: list[TeamMember]) -> dict[int, WorkingHours | None]:
    """Each seat's member's own working hours in their own time zone, in one query (None
    for a member whose saved hours or zone the engine refuses: they are never free)."""
    ranges: dict[int, dict[int, list[WallRange]]] = {seat.user_id: {} for seat in seats}
    rows = MemberHours.objects.filter(user_id__in=list(ranges)).order_by("weekday", "start")
    for user_id, weekday, start, end in rows.values_list("user_id", "weekday", "start", "end"):
        ranges[user_id].setdefault(weekday, []).append((start, end))
    found: dict[int, WorkingHours | None] = {}
    for seat in seats:
        try:
            found[seat.user_id] = WorkingHours(
                time_zone=seat.user.time_zone,
                weekly_hours=ranges[seat.user_id] or DEFAULT_MEMBER_HOURS,
            )
        except ValueError:
            log.warning("member %s has working hours the slot engine refuses", seat.user_id)
            found[seat.user_id] = None
    return found


def member_busy_calendars(*, user_ids: list[int]) -> dict[int, list[Calendar]]:
    """Each member's calendars that supply busy time: in their connected account, the
    default calendar and every calendar one of their pages reads busy time from."""
    calendars = Calendar.objects.filter(
        Q(is_default=True) | Q(busy_horizon_days__gt=0),
        connection__host_id__in=user_ids,
        connection__status=ConnectionStatus.CONNECTED,
        is_active=True,
    ).select_related("connection")
    found: dict[int, list[Calendar]] = {user_id: [] for user_id in user_ids}
    for calendar in calendars:
        found[calendar.connection.host_id].append(calendar)
    return found


def member_target_calendars(*, user_id: int) -> list[Calendar]:
    """Where a team booking of the member goes: the default calendar of their latest
    account (waiting there while it is disconnected, as a personal page's rows do)."""
    latest = connection_latest_for(host=user_id)
    if latest is None:
        return []
    main = latest.calendars.filter(is_default=True, is_active=True).first()
    return [main] if main else []


def members_with_live_calendar(*, user_ids: Sequence[int]) -> set[int]:
    """The ``user_ids`` whose Office 365 is connected now with a default calendar: a
    booking reaches their calendar at once, and their busy time is known."""
    return set(
        Calendar.objects.filter(
            connection__host_id__in=user_ids,
            connection__status=ConnectionStatus.CONNECTED,
            is_default=True,
            is_active=True,
        ).values_list("connection__host_id", flat=True)
    )


def round_robin_candidates(*, user_ids: Sequence[int]) -> list[int]:
    """Who of ``user_ids`` (in order) a round-robin page may give a meeting to: the members
    whose calendar is live, while at least one's is. A member who disconnected or never
    connected has no known busy time (they would look free all day) and their meetings
    could only wait for them; when nobody's calendar is live, everyone (as before)."""
    live = members_with_live_calendar(user_ids=user_ids)
    return [user_id for user_id in user_ids if user_id in live] or list(user_ids)


def round_robin_keeper(*, booking: Booking) -> int | None:
    """The member a round-robin meeting stays with when it moves: its host while they can
    still be given the page's meetings (on the page, in the organization, and with a live
    calendar when some member has one); else None: whoever is free at the new time takes
    it (``booking_reschedule``)."""
    seats = [seat.user_id for seat in team_seats_for(page=booking.page)]
    return booking.host_id if booking.host_id in round_robin_candidates(user_ids=seats) else None


def round_robin_handed_over(*, booking: Booking) -> bool:
    """Whether moving ``booking`` gives it to another member: a round-robin meeting whose
    member the page can no longer give meetings to (``round_robin_keeper``)."""
    page = booking.page
    if page is None or page.team_kind != TeamKind.ROUND_ROBIN:
        return False
    return round_robin_keeper(booking=booking) is None


def collective_organizer(*, user_ids: Sequence[int]) -> int:
    """Who organizes a collective booking among the free ``user_ids`` (in the page's fixed
    order): the first whose calendar is connected now, so the one event, with the others
    as attendees, reaches everyone at once. A member who disconnected, or never connected,
    would hold it back (it would wait in their account, or go nowhere). When nobody's
    calendar is connected, the first member."""
    connected = members_with_live_calendar(user_ids=user_ids)
    return next((user_id for user_id in user_ids if user_id in connected), user_ids[0])


def members_without_teams(*, page: BookingPage) -> list:
    """The members of the team page ``page`` whose calendar (``member_target_calendars``)
    cannot make Teams meetings, by name: the bookings they host get no join link. Empty
    unless the page's location is a Teams meeting."""
    if not page.team_kind or page.location_kind != LocationKind.TEAMS:
        return []
    users = [seat.user for seat in page.team_members.select_related("user")]
    return sorted(
        (user for user in users if not teams_meeting_possible(page=page, host_id=user.pk)),
        key=lambda user: (user.get_full_name(), user.pk),
    )


def member_mailbox_address(*, user) -> str:
    """The address that reaches the member's calendar: their connected account's."""
    latest = connection_latest_for(host=user.pk)
    return latest.account_email if latest is not None else user.email


def _members_time(
    *,
    page: BookingPage,
    user_ids: list[int],
    start: datetime,
    end: datetime,
    exclude_pk: int | None,
) -> tuple[dict[int, MemberTime], list[Interval]]:
    """Every member's busy time and bookings in [start, end), in a few queries for all."""
    busy: dict[int, list[Interval]] = {user_id: [] for user_id in user_ids}
    own: dict[int, list[Interval]] = {user_id: [] for user_id in user_ids}
    calendars = member_busy_calendars(user_ids=user_ids)
    owner = {c.pk: user_id for user_id, cals in calendars.items() for c in cals}
    blocking = Availability.blocking(tentative=page.block_tentative)
    rows = BusyInterval.objects.filter(
        calendar_id__in=list(owner), start__lt=end, end__gt=start, show_as__in=blocking
    ).values_list("calendar_id", "start", "end")
    for calendar_id, b_start, b_end in rows:
        if b_end > b_start:
            busy[owner[calendar_id]].append(Interval.trusted(b_start, b_end))
    bookings = Booking.objects.filter(status=BookingStatus.CONFIRMED, start__lt=end, end__gt=start)
    if exclude_pk is not None:
        bookings = bookings.exclude(pk=exclude_pk)
    page_bookings: list[Interval] = []
    hosted = bookings.filter(host_id__in=user_ids).values_list(
        "pk", "host_id", "page_id", "start", "end"
    )
    attended = BookingCohost.objects.filter(user_id__in=user_ids, booking__in=bookings).values_list(
        "booking_id", "user_id", "booking__page_id", "booking__start", "booking__end"
    )
    seen_on_page: set[int] = set()
    for booking_id, user_id, page_id, b_start, b_end in [*hosted, *attended]:
        interval = Interval.trusted(b_start, b_end)  # the ends_later constraint holds
        if page_id == page.pk:
            own[user_id].append(interval)
            if booking_id not in seen_on_page:
                seen_on_page.add(booking_id)
                page_bookings.append(interval)
        else:
            busy[user_id].append(interval)
    members = {
        user_id: MemberTime(busy=busy[user_id], bookings=own[user_id]) for user_id in user_ids
    }
    # Bookings of the page by people no longer on it still count towards its daily cap.
    others = bookings.filter(page=page).exclude(pk__in=seen_on_page).values_list("start", "end")
    page_bookings.extend(Interval.trusted(s, e) for s, e in others)
    return members, page_bookings


def team_page_slots(
    *,
    page: BookingPage,
    start: datetime,
    end: datetime,
    now: datetime,
    exclude_booking: Booking | None = None,
    rules_only: bool = False,
    name_free: bool = True,
) -> list[TeamSlot]:
    """A team page's free slots starting in [start, end), with who is free for each.

    Round-robin: at least one member free (of those whose calendar is live, while anyone's
    is: ``round_robin_candidates``); collective: every member free. Members
    are judged on their own calendars and bookings (``host_bookings_between``'s
    sense) and, when the page uses members' hours, only inside their own working hours
    in their own zones (those are rules: ``rules_only`` keeps them); ``rules_only`` as in
    ``page_slots``; ``name_free=False`` names only the first free member of each slot
    (enough to list them).
    """
    rules = _rules_or_none(page)
    seats = team_seats_for(page=page)
    if rules is None or not seats:
        return []
    user_ids = [seat.user_id for seat in seats]
    hours: dict[int, WorkingHours | None] = {}
    if page.hours_source == HoursSource.MEMBERS:
        rules = rules.whole_days()
        hours = members_working_hours(seats=seats)
        # A member whose hours cannot be read is never free (rather than always).
        user_ids = [user_id for user_id in user_ids if hours[user_id] is not None]
        if not user_ids or (page.team_kind == "collective" and len(user_ids) < len(seats)):
            return []
    if page.team_kind == TeamKind.ROUND_ROBIN:
        user_ids = round_robin_candidates(user_ids=user_ids)
    if rules_only:
        members = {user_id: MemberTime(hours=hours.get(user_id)) for user_id in user_ids}
        page_bookings: list[Interval] = []
    else:
        members, page_bookings = _members_time(
            page=page,
            user_ids=user_ids,
            start=start - MARGIN,
            end=end + MARGIN,
            exclude_pk=exclude_booking.pk if exclude_booking else None,
        )
        if hours:
            members = {
                user_id: MemberTime(
                    busy=member.busy, bookings=member.bookings, hours=hours[user_id]
                )
                for user_id, member in members.items()
            }
    found = team_slots(
        rules=rules,
        members=members,
        page_bookings=page_bookings,
        start=start,
        end=end,
        now=now,
        everyone=page.team_kind == "collective",
        name_free=name_free,
    )
    return [slot for slot in found if start <= slot.start < end]


def booking_host_names(*, booking: Booking) -> list[str]:
    """Who the invitee meets: the host (a round-robin page's assigned member), then the
    other members of a collective booking in a fixed order."""
    return [
        booking.host.get_full_name(),
        *(row.user.get_full_name() for row in booking_cohosts(booking=booking)),
    ]


def booking_cohosts(*, booking: Booking) -> list[BookingCohost]:
    """The members who attend ``booking`` besides its host, with their users, by user id.

    Read from the booking when its maker left them on it (``booking_cohosts_none``)."""
    known = getattr(booking, "_prefetched_objects_cache", {}).get("cohosts")
    if known is None:
        known = BookingCohost.objects.filter(booking=booking).select_related("user")
    elif known.query.is_empty():  # recorded as nobody, no rows to look at
        return []
    return sorted(known, key=lambda row: row.user_id)


def booking_cohosts_none(*, booking: Booking) -> None:
    """Record that nobody attends ``booking`` besides its host (a booking being made on a
    personal page), as Django's ``prefetch_related`` records loaded rows: reading its
    cohosts (``booking_cohosts``, ``booking.cohosts…``) then costs no query."""
    cache = booking.__dict__.setdefault("_prefetched_objects_cache", {})
    cache["cohosts"] = BookingCohost.objects.none()


def team_bookings_count(
    *, page: BookingPage, user_ids: list[int], since: datetime
) -> dict[int, int]:
    """Confirmed bookings each member got from the page since ``since`` (round-robin's
    fairness counts)."""
    counts = {user_id: 0 for user_id in user_ids}
    rows = Booking.objects.filter(
        page=page, host_id__in=user_ids, status=BookingStatus.CONFIRMED, created_at__gte=since
    ).values_list("host_id", flat=True)
    for host_id in rows:
        counts[host_id] += 1
    return counts


def day_window(*, first: date, last: date, time_zone: str) -> tuple[datetime, datetime]:
    """From midnight starting ``first`` to midnight ending ``last``, in ``time_zone``."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    return start, end


def _slot_reach(*, rules: Rules, start: datetime) -> tuple[datetime, datetime]:
    """The span whose bookings and busy time can decide whether ``start`` is offered: the
    slot padded by the wider buffer, and the whole page-zone day it starts on (the day's
    bookings count towards the daily cap)."""
    day = start.astimezone(ZoneInfo(rules.time_zone)).date()
    day_start, day_end = day_window(first=day, last=day, time_zone=rules.time_zone)
    reach = max(rules.buffer_before, rules.buffer_after)
    return min(day_start, start - reach), max(day_end, start + rules.duration + reach)


def slot_busy_for(*, page: BookingPage, rules: Rules, start: datetime) -> list[Interval]:
    """The busy calendar time that can keep the page from offering ``start``."""
    low, high = _slot_reach(rules=rules, start=start)
    return busy_intervals_for(page=page, start=low, end=high)


def slot_is_offered(*, rules: Rules, start: datetime, now: datetime) -> bool:
    """Whether the page's rules alone offer ``start`` (as if nothing were booked or busy)."""
    return _engine_offers(rules=rules, busy=[], bookings=[], start=start, now=now)


def slot_is_free(
    *,
    page: BookingPage,
    rules: Rules,
    start: datetime,
    now: datetime,
    busy: list[Interval] | None = None,
    exclude_booking: Booking | None = None,
) -> bool:
    """Whether a personal page offers ``start`` now, exactly as ``page_slots`` would list
    it: the slot engine asked about that one slot, with the host's bookings (read now)
    and busy time that can touch it. ``busy``: that busy time when the caller read it
    already (``slot_busy_for``); ``exclude_booking`` counts as free (a move)."""
    low, high = _slot_reach(rules=rules, start=start)
    others = list(busy_intervals_for(page=page, start=low, end=high) if busy is None else busy)
    own: list[Interval] = []
    # Under the host's lock: compiled once.
    if exclude_booking is None:
        rows = query_rows(_bookings_around, page.host_id, low, high)
    else:
        rows = query_rows(_bookings_around_but, page.host_id, low, high, exclude_booking.pk)
    # Rows end after they start (a constraint).
    page_pk = page.pk  # a property: read once, not once per row
    for page_id, b_start, b_end in rows:
        (own if page_id == page_pk else others).append(Interval.trusted(b_start, b_end))
    return _engine_offers(rules=rules, busy=others, bookings=own, start=start, now=now)


def slot_is_still_free(
    *,
    page: BookingPage,
    rules: Rules,
    start: datetime,
    now: datetime,
    busy: list[Interval],
    booking: Booking,
) -> bool | None:
    """``slot_is_free`` for ``booking``, a new booking of ``page`` at ``start`` that this
    transaction has just written (left out of the count), with whether ``page`` is still
    as it was read, in one statement: None when the page was edited or closed since (or
    the new row is not among the host's bookings, which only such a change explains),
    else whether ``start`` is free. Call it under the host's lock: page edits take it
    too, and the statement sees every booking and edit committed before it."""
    low, high = _slot_reach(rules=rules, start=start)
    rows = query_rows(
        _bookings_around_if_page_kept, page.host_id, low, high, page.pk, page.updated_at
    )
    others = list(busy)
    own: list[Interval] = []
    page_pk, booking_pk = page.pk, booking.pk  # properties: read once, not once per row
    page_kept = False
    for pk, page_id, b_start, b_end, kept in rows:
        if pk == booking_pk:
            page_kept = kept
            continue
        (own if page_id == page_pk else others).append(Interval.trusted(b_start, b_end))
    if not page_kept:
        return None
    return _engine_offers(rules=rules, busy=others, bookings=own, start=start, now=now)


@reads(Booking)
def _bookings_around_if_page_kept(
    host_id: int, start: datetime, end: datetime, page_pk: int, updated_at: datetime
):
    # Each row says whether the page still takes bookings unchanged (PostgreSQL evaluates
    # the uncorrelated EXISTS once); the new booking's own row is always there to say it.
    kept = BookingPage.objects.filter(pk=page_pk, is_active=True, updated_at=updated_at)
    bookings = host_bookings_between(host_id=host_id, start=start, end=end)
    return (
        bookings.order_by()
        .annotate(page_kept=Exists(kept))
        .values_list("pk", "page_id", "start", "end", "page_kept")
    )


@reads(Booking)
def _bookings_around(host_id: int, start: datetime, end: datetime):
    # Unordered: the engine sorts what it needs.
    bookings = host_bookings_between(host_id=host_id, start=start, end=end)
    return bookings.order_by().values_list("page_id", "start", "end")


@reads(Booking)
def _bookings_around_but(host_id: int, start: datetime, end: datetime, exclude_pk: int):
    bookings = host_bookings_between(host_id=host_id, start=start, end=end, exclude_pk=exclude_pk)
    return bookings.order_by().values_list("page_id", "start", "end")


def _engine_offers(
    *, rules: Rules, busy: list[Interval], bookings: list[Interval], start: datetime, now: datetime
) -> bool:
    window_end = start + timedelta(microseconds=1)  # only candidates at ``start`` itself
    found = available_slots(
        rules=rules, busy=busy, bookings=bookings, start=start, end=window_end, now=now
    )
    return bool(found) and found[0].start == start


def slots_on_day_of(*, page: BookingPage, moment: datetime, now: datetime, **options):
    """The page's slots on the page-zone day of ``moment``."""
    local_day = moment.astimezone(ZoneInfo(page.time_zone)).date()
    start, end = day_window(first=local_day, last=local_day, time_zone=page.time_zone)
    return page_slots(page=page, start=start, end=end, now=now, **options)


def future_bookings_of_host(*, host, now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(
        host=host, status=BookingStatus.CONFIRMED, end__gt=now
    ).select_related("page")


def upcoming_bookings_of_page(*, page: BookingPage, now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(page=page, status=BookingStatus.CONFIRMED, end__gt=now)


def pages_needing_main_calendar(*, host) -> list[BookingPage]:
    """The host's pages whose main calendar is unset, inactive or not in a connected account."""
    pages = BookingPage.objects.filter(host=host).select_related("main_calendar__connection")
    return [
        page
        for page in pages
        if page.main_calendar is None or not _usable(page.main_calendar, host.pk)
    ]
