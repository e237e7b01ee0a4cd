"""Reads for Setup → Meetings: which bookings a user sees, filtered, and their calendar state.

``bookings_visible_to`` is the one place that decides whose bookings a signed-in user
may see, and ``bookings_actionable_by`` which of them they may change; every Meetings
page, action and the export go through them. A host sees and acts on their own
bookings (and the collective ones they attend); a current admin of an organization
also sees every current member's, as the read API does (``integrations.scope``), but
acts only on their own: cancelling or moving a member's meeting stays with the member.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, User
from accounts.selectors import membership_of
from booking.models import (
    Booking,
    BookingCohost,
    BookingPage,
    BookingStatus,
    Question,
    TeamMember,
    search_fold,
)
from calendars.models import ConnectionStatus, PushedEvent, PushState
from calendars.selectors import meetings_held

PER_PAGE = 50
# The longest meeting a page allows (BookingPage.duration_minutes): an upcoming meeting
# (one that has not ended) started less than this long ago, which keeps the query on the
# (host, status, start) index.
LONGEST_MEETING = timedelta(hours=12)


HOSTS_MINE = ""
HOSTS_EVERYONE = "all"


class Tab(StrEnum):
    UPCOMING = "upcoming"
    PAST = "past"
    CANCELLED = "cancelled"


TAB_LABELS = {Tab.UPCOMING: _("Upcoming"), Tab.PAST: _("Past"), Tab.CANCELLED: _("Cancelled")}


# --- who sees what -------------------------------------------------------------------------


def bookings_actionable_by(*, user) -> QuerySet[Booking]:
    """The bookings ``user`` may cancel, ask to move, mark and retry: the ones they host,
    and the collective ones they attend (issue 12's co-hosts)."""
    attended = BookingCohost.objects.filter(user_id=user.pk).values("booking_id")
    if not attended.exists():
        # The common case keeps to one host's rows, which the meetings index serves.
        return Booking.objects.filter(host_id=user.pk)
    return Booking.objects.filter(Q(host_id=user.pk) | Q(pk__in=attended))


def bookings_visible_to(*, user) -> QuerySet[Booking]:
    """Every booking ``user`` may see in Setup → Meetings: the ones they may act on and,
    for a current admin of an organization, those of its current members."""
    own = bookings_actionable_by(user=user)
    members = team_member_ids(user=user)
    if set(members) <= {user.pk}:  # not an admin, or an admin alone
        return own
    attended = BookingCohost.objects.filter(user_id=user.pk).values("booking_id")
    return Booking.objects.filter(Q(host_id__in=members) | Q(host_id=user.pk) | Q(pk__in=attended))


def team_member_ids(*, user) -> list[int]:
    """The current members of the organization ``user`` is a current admin of (``user``
    among them), or ``[]``: whose meetings they may look at beside their own."""
    membership = membership_of(user=user)
    if membership is None or not membership.is_admin:
        return []
    return list(
        Membership.objects.filter(
            organization_id=membership.organization_id, removed_at__isnull=True
        ).values_list("user_id", flat=True)
    )


def team_hosts_for(*, user) -> list[tuple[int, str]]:
    """The members an admin may filter Meetings by, as (user id, name), themself first;
    ``[]`` for anyone who sees only their own (a member, or an admin alone)."""
    ids = team_member_ids(user=user)
    if len(ids) < 2:
        return []
    users = User.objects.filter(pk__in=ids).order_by("name", "email")
    rows = [(other.pk, other.get_full_name()) for other in users]
    return sorted(rows, key=lambda row: row[0] != user.pk)


def pages_visible_to(*, user) -> QuerySet[BookingPage]:
    """The booking pages whose meetings ``user`` may filter by: their own, and an admin's
    organization's (members' pages and team pages)."""
    members = team_member_ids(user=user)
    pages = BookingPage.objects.filter(host=user)
    if members:
        membership = membership_of(user=user)
        pages = BookingPage.objects.filter(
            Q(host_id__in=members) | Q(organization_id=membership.organization_id)
        )
    return pages.order_by("title", "pk")


def pages_in_view(*, user, hosts: str = HOSTS_MINE) -> QuerySet[BookingPage]:
    """The pages the list can be filtered by for ``hosts``: for their own meetings the
    user's own pages and the team pages they are on (their meetings there are theirs too),
    every page they may see (``pages_visible_to``) when looking at others'."""
    if hosts == HOSTS_MINE:
        seats = TeamMember.objects.filter(user=user).values("page_id")
        return BookingPage.objects.filter(Q(host=user) | Q(pk__in=seats)).order_by("title", "pk")
    return pages_visible_to(user=user)


def meeting_for(*, user, pk: int) -> Booking | None:
    """One booking ``user`` may see, or None (also for anyone else's)."""
    return bookings_visible_to(user=user).select_related("page", "host").filter(pk=pk).first()


def _in_view(*, user, filters: MeetingFilters) -> QuerySet[Booking]:
    """The bookings the list starts from: ``user``'s own, or (an admin's choice) those of
    one member or of everyone in the organization (``filters.hosts``)."""
    if filters.hosts == HOSTS_MINE:
        return bookings_actionable_by(user=user)
    visible = bookings_visible_to(user=user)
    if filters.hosts == HOSTS_EVERYONE:
        return visible
    return visible.filter(host_id=int(filters.hosts))


# --- the list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingFilters:
    """What the list shows; every field comes from the URL, so a view can be bookmarked."""

    tab: Tab = Tab.UPCOMING
    page_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    query: str = ""
    hosts: str = ""  # HOSTS_MINE, HOSTS_EVERYONE, or one member's user id (admins)


def meetings_filtered(
    *, user, filters: MeetingFilters, time_zone: str, now: datetime | None = None
) -> QuerySet[Booking]:
    """``user``'s meetings on ``filters``' tab, in the tab's order (dates in ``time_zone``)."""
    now = now or timezone.now()
    bookings = _apply_filters(_in_view(user=user, filters=filters), filters, time_zone)
    return _tab(bookings, filters.tab, now=now)


def meetings_count(
    *, user, filters: MeetingFilters, time_zone: str, now: datetime | None = None
) -> int:
    """How many meetings ``filters`` (tab included) select.

    COUNT(start), a never-null column of the ``booking_meetings_tabs`` index: PostgreSQL
    counts the tab's range of that index alone. (Counting every tab at once would read
    all of a host's bookings on every page view; only the tab shown is counted exactly,
    the others by ``meetings_count_capped``.)
    """
    bookings = _on_tab(user=user, filters=filters, time_zone=time_zone, now=now)
    return bookings.aggregate(count=Count("start"))["count"]


def meetings_count_capped(
    *, user, filters: MeetingFilters, time_zone: str, cap: int, now: datetime | None = None
) -> int:
    """Like ``meetings_count``, but stops at ``cap + 1``: how many, when at most ``cap``;
    ``cap + 1`` stands for "more than ``cap``".

    The badge of a tab that is not shown: the count reads at most ``cap + 1`` entries of
    the same index (a bounded LIMIT under the COUNT), so the two extra badges cost little
    however many meetings a host has.
    """
    bookings = _on_tab(user=user, filters=filters, time_zone=time_zone, now=now)
    return bookings.order_by().values("start")[: cap + 1].count()


def _on_tab(*, user, filters: MeetingFilters, time_zone: str, now: datetime | None):
    """``filters``' meetings on their tab, unordered (what the counts count)."""
    bookings = _apply_filters(_in_view(user=user, filters=filters), filters, time_zone)
    return bookings.filter(_tab_condition(filters.tab, now=now or timezone.now()))


def meetings_by_ids(*, ids: list[int]) -> list[Booking]:
    """The bookings of one page of results, in the order of ``ids``.

    The page's ids are found first (from the index alone on PostgreSQL, however deep the
    page), then only those rows are read.
    """
    rows = Booking.objects.select_related("page", "host").defer("answers", "page__description")
    by_id = {booking.pk: booking for booking in rows.filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def _tab_condition(tab: Tab, *, now: datetime) -> Q:
    confirmed = Q(status=BookingStatus.CONFIRMED)
    if tab == Tab.UPCOMING:
        return confirmed & Q(end__gt=now, start__gt=now - LONGEST_MEETING)
    if tab == Tab.PAST:
        return confirmed & Q(end__lte=now, start__lt=now)
    return Q(status=BookingStatus.CANCELLED)


def _tab(bookings: QuerySet[Booking], tab: Tab, *, now: datetime) -> QuerySet[Booking]:
    bookings = bookings.filter(_tab_condition(tab, now=now))
    if tab == Tab.UPCOMING:
        return bookings.order_by("start", "pk")
    return bookings.order_by("-start", "-pk")


def _apply_filters(
    bookings: QuerySet[Booking], filters: MeetingFilters, time_zone: str
) -> QuerySet[Booking]:
    zone = ZoneInfo(time_zone)
    if filters.page_id is not None:
        bookings = bookings.filter(page_id=filters.page_id)
    if filters.date_from is not None:
        bookings = bookings.filter(start__gte=_midnight(filters.date_from, zone))
    if filters.date_to is not None:
        bookings = bookings.filter(start__lt=_midnight(filters.date_to + timedelta(days=1), zone))
    if filters.query:
        bookings = _search(bookings, filters.query)
    return bookings


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def _search(bookings: QuerySet[Booking], query: str) -> QuerySet[Booking]:
    """Invitee name or email contains ``query``, without regard to case or accents (on every
    database: both sides are folded the same way, ``booking.models.search_fold``)."""
    return bookings.filter(search_text__contains=search_fold(query))


# --- how each meeting stands in the host's calendar ---------------------------------------


class CalendarState(StrEnum):
    IN_CALENDAR = "in_calendar"
    ON_ITS_WAY = "on_its_way"
    WAITING = "waiting"
    FAILED = "failed"
    REMOVED = "removed"
    REMOVING = "removing"
    NONE = "none"


CALENDAR_STATE_LABELS = {
    CalendarState.IN_CALENDAR: _("in your calendar"),
    CalendarState.ON_ITS_WAY: _("on its way"),
    CalendarState.WAITING: _("waiting for you to reconnect"),
    CalendarState.FAILED: _("failed"),
    CalendarState.REMOVED: _("removed from your calendar"),
    CalendarState.REMOVING: _("being removed from your calendar"),
    CalendarState.NONE: _("not in a calendar"),
}


@dataclass(frozen=True)
class PushRow:
    """What the calendar state needs of one ``PushedEvent`` (read as values, not models)."""

    pk: int
    source: str
    state: str
    wanted: bool
    settled: bool
    connected: bool


@dataclass
class CalendarStanding:
    """A booking's events in the host's calendars, summed up in one state."""

    state: CalendarState = CalendarState.NONE
    retry_pk: int | None = None  # the failed row the host can retry
    join_url: str = ""

    @property
    def label(self) -> str:
        return str(CALENDAR_STATE_LABELS[self.state])


def calendar_standings(*, bookings: Iterable[Booking]) -> dict[int, CalendarStanding]:
    """Each booking's calendar state (one query for all of them)."""
    by_source = {booking.mirror_source: booking for booking in bookings}
    rows = (
        PushedEvent.objects.filter(source__in=list(by_source))
        .order_by("pk")
        .values_list(
            "pk",
            "source",
            "state",
            "wanted",
            "version",
            "synced_version",
            "calendar__connection__status",
        )
    )
    grouped: dict[int, list[PushRow]] = {booking.pk: [] for booking in by_source.values()}
    for pk, source, state, wanted, version, synced, status in rows:
        grouped[by_source[source].pk].append(
            PushRow(
                pk=pk,
                source=source,
                state=state,
                wanted=wanted,
                settled=state == PushState.SYNCED and synced == version,
                connected=status == ConnectionStatus.CONNECTED,
            )
        )
    links = join_urls_for(bookings=by_source.values())
    standings = {}
    for booking in by_source.values():
        standings[booking.pk] = calendar_standing(booking=booking, rows=grouped[booking.pk])
        standings[booking.pk].join_url = links.get(booking.pk, "")
    return standings


def calendar_standing(*, booking: Booking, rows: list[PushRow]) -> CalendarStanding:
    """The worst state among the booking's calendar rows decides (a failure shows first);
    the join link is left to the caller (``join_urls_for``)."""
    standing = CalendarStanding()
    if not rows:
        return standing
    failed = [row for row in rows if row.state == PushState.FAILED]
    unsettled = [row for row in rows if not row.settled]
    disconnected = [row for row in unsettled if row.state == PushState.WAITING or not row.connected]
    gone = not booking.is_confirmed
    if failed:
        standing.state, standing.retry_pk = CalendarState.FAILED, failed[0].pk
    elif disconnected:
        standing.state = CalendarState.WAITING
    elif unsettled:
        standing.state = CalendarState.REMOVING if gone else CalendarState.ON_ITS_WAY
    else:
        standing.state = CalendarState.REMOVED if gone else CalendarState.IN_CALENDAR
    return standing


def join_urls_for(*, bookings: Iterable[Booking]) -> dict[int, str]:
    """Each booking's online meeting join link once the calendar made one (one query for
    all of them; a booking without one is left out). The same link as
    ``booking.reminders.join_url_for``: the link of the event that holds the meeting."""
    by_source = {booking.mirror_source: booking.pk for booking in bookings}
    if not by_source:
        return {}
    rows = (
        meetings_held()
        .filter(source__in=list(by_source))
        .order_by("pk")
        .values_list("source", "online_meeting_url")
    )
    found: dict[int, str] = {}
    for source, url in rows:
        found.setdefault(by_source[source], url)
    return found


def pushes_of(*, booking: Booking) -> list[PushedEvent]:
    """The booking's calendar rows, for its detail page (the push history)."""
    return list(
        PushedEvent.objects.filter(source=booking.mirror_source)
        .select_related("calendar__connection")
        .order_by("pk")
    )


# --- grouping and export --------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    meetings: list


def group_by_day(*, items: Iterable, time_zone: str) -> list[Day]:
    """Consecutive items (anything with an aware ``start``) on one date in ``time_zone``,
    in the order given."""
    zone = ZoneInfo(time_zone)
    days: list[Day] = []
    for item in items:
        day = item.start.astimezone(zone).date()
        if not days or days[-1].day != day:
            days.append(Day(day=day, meetings=[]))
        days[-1].meetings.append(item)
    return days


def question_labels_for(*, user, page_id: int | None, hosts: str = HOSTS_MINE) -> list[str]:
    """The questions of the pages in view, each label once, in page and question order:
    ``user``'s own pages, or (an admin looking at others, ``hosts``) every page they may
    filter by."""
    questions = Question.objects.filter(page__in=pages_in_view(user=user, hosts=hosts))
    if page_id is not None:
        questions = questions.filter(page_id=page_id)
    labels = questions.order_by("page__title", "page_id", "position", "pk").values_list(
        "label", flat=True
    )
    return list(dict.fromkeys(labels))


def meetings_for_export(
    *, user, filters: MeetingFilters, time_zone: str, now: datetime | None = None
) -> Iterator[Booking]:
    """The filtered meetings one by one, read in chunks (a server-side cursor on PostgreSQL)."""
    bookings = meetings_filtered(user=user, filters=filters, time_zone=time_zone, now=now)
    return bookings.select_related("page").iterator(chunk_size=2000)
