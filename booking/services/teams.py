"""Team booking pages of an organization, and what a member's removal does to pages.

A team page is a ``BookingPage`` with a ``team_kind`` and ``TeamMember`` seats; its
``host`` is the admin who made it. Writes lock every involved person's host row in
ascending id order, the order team bookings lock in, so edits and bookings queue
rather than deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership
from booking.models import BookingPage, HoursSource, MemberHours, TeamKind, TeamMember
from booking.services.horizons import busy_horizons_update
from booking.services.locking import host_lock
from booking.services.pages import page_create


class TeamPageError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Seat:
    user_id: int
    priority: int = 0
    weight: int = 1


def _lock_people(user_ids: Iterable[int]) -> None:
    for user_id in sorted(set(user_ids)):
        host_lock(user_id)


def _check_seats(*, organization_id: int, seats: Sequence[Seat]) -> None:
    if not seats:
        raise TeamPageError(_("Choose at least one member."))
    ids = {seat.user_id for seat in seats}
    members = Membership.objects.filter(
        organization_id=organization_id, user_id__in=ids, removed_at__isnull=True
    ).count()
    if members != len(ids) or len(ids) != len(seats):
        raise TeamPageError(_("Choose members of your organization, each once."))
    for seat in seats:
        if not 0 <= seat.priority <= 100 or not 1 <= seat.weight <= 100:
            raise TeamPageError(_("Priority goes from 0 to 100 and weight from 1 to 100."))


def team_page_create(
    *, admin, organization, kind: str, fields: Mapping[str, object], seats: Sequence[Seat]
) -> BookingPage:
    """A new team page of ``organization`` made by ``admin``, with its members' seats."""
    if kind not in TeamKind.values:
        raise TeamPageError(_("Choose round-robin or collective."))
    _check_seats(organization_id=organization.pk, seats=seats)
    with transaction.atomic():
        _lock_people([admin.pk, *(seat.user_id for seat in seats)])
        page = page_create(
            host=admin,
            fields={**fields, "team_kind": kind, "organization": organization},
        )
        page.main_calendar = None  # bookings go to the members' own calendars
        page.save(update_fields=["main_calendar"])
        _seats_replace(page=page, seats=seats)
    return page


def member_hours_set(*, user, hours: Sequence[tuple]) -> None:
    """Replace the person's own weekly working hours (``(weekday, start, end)`` rows, in
    their own time zone). Under their host lock, the one their team bookings take."""
    with transaction.atomic():
        host_lock(user.pk)
        MemberHours.objects.filter(user=user).delete()
        MemberHours.objects.bulk_create(
            MemberHours(user=user, weekday=weekday, start=start, end=end)
            for weekday, start, end in hours
        )


def team_hours_source_set(*, page: BookingPage, source: str) -> BookingPage:
    """Whether the team page offers its own hours or each member's own working hours."""
    if source not in HoursSource.values:
        raise TeamPageError(_("Choose the page's hours or each member's working hours."))
    if page.hours_source != source:
        page.hours_source = source
        page.save(update_fields=["hours_source", "updated_at"])
    return page


def team_seats_set(*, page: BookingPage, seats: Sequence[Seat]) -> BookingPage:
    """Replace the page's members (and their priority and weight)."""
    _check_seats(organization_id=page.organization_id, seats=seats)
    with transaction.atomic():
        before = set(page.team_members.values_list("user_id", flat=True))
        _lock_people([page.host_id, *before, *(seat.user_id for seat in seats)])
        _seats_replace(page=page, seats=seats, before=before)
    return page


def _seats_replace(*, page: BookingPage, seats: Sequence[Seat], before: set[int] = frozenset()):
    page.team_members.all().delete()
    TeamMember.objects.bulk_create(
        TeamMember(page=page, user_id=seat.user_id, priority=seat.priority, weight=seat.weight)
        for seat in seats
    )
    for user in _users(before | {seat.user_id for seat in seats}):
        busy_horizons_update(host=user)


def _users(ids: set[int]):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk__in=ids).order_by("pk")


def member_pages_close(*, membership: Membership) -> int:
    """A removed member's personal pages stop taking bookings (kept, not deleted); their
    seats on team pages stop counting because they are no longer in the organization.
    Returns how many pages were closed."""
    user = membership.user
    closed = BookingPage.objects.filter(host=user, team_kind="", is_active=True).update(
        is_active=False
    )
    busy_horizons_update(host=user)
    return closed
