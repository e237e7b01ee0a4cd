"""Whose data an integration sees: the one place that decides it.

A person sees their own bookings (those they host, and collective ones they attend)
and pages; a current admin of an organization sees those of every current member,
and the organization's team pages. Webhook endpoints are personal (their owner's
events) or, made by an admin, the organization's (every member's events, for as long
as their owner is an admin there). The read API, the webhook fan-out and Setup all
ask these functions, so a change of role takes effect on the next request or event.
"""

from __future__ import annotations

from django.db.models import Q

from accounts.models import Membership, Role
from accounts.selectors import membership_of
from booking.models import BookingCohost


def _admin_organization_id(user) -> int | None:
    membership = membership_of(user=user)
    return membership.organization_id if membership and membership.is_admin else None


def _member_ids(organization_id: int):
    return Membership.objects.filter(
        organization_id=organization_id, removed_at__isnull=True
    ).values("user_id")


def bookings_visible_to(*, user) -> Q:
    """A filter on bookings ``user`` may read through the API."""
    attended = BookingCohost.objects.filter(user_id=user.pk).values("booking_id")
    own = Q(host_id=user.pk) | Q(pk__in=attended)
    organization_id = _admin_organization_id(user)
    if organization_id is None:
        return own
    return own | Q(host_id__in=_member_ids(organization_id))


def pages_visible_to(*, user) -> Q:
    """A filter on booking pages ``user`` may read through the API."""
    own = Q(host_id=user.pk)
    organization_id = _admin_organization_id(user)
    if organization_id is None:
        return own
    return own | Q(host_id__in=_member_ids(organization_id)) | Q(organization_id=organization_id)


def organization_for_endpoints(*, user):
    """The organization whose endpoints ``user`` may make and manage (admins only), or None."""
    membership = membership_of(user=user)
    return membership.organization if membership and membership.is_admin else None


def endpoints_managed_by(*, user) -> Q:
    """A filter on the endpoints ``user`` manages in Setup: their own, and as an admin
    their organization's."""
    organization_id = _admin_organization_id(user)
    mine = Q(owner_id=user.pk)
    return mine if organization_id is None else mine | Q(organization_id=organization_id)


def organization_endpoints_of(*, organization_id: int) -> Q:
    """A filter on the organization-wide endpoints of ``organization_id`` whose owner is
    still an admin there (they receive the team events)."""
    current_admins = Membership.objects.filter(
        organization_id=organization_id, role=Role.ADMIN, removed_at__isnull=True
    ).values("user_id")
    return Q(organization_id=organization_id, owner_id__in=current_admins)


def tokens_managed_by(*, user) -> Q:
    """A filter on the API tokens ``user`` may see and revoke: their own, and as an admin
    those of their organization's current members."""
    organization_id = _admin_organization_id(user)
    mine = Q(owner_id=user.pk)
    return mine if organization_id is None else mine | Q(owner_id__in=_member_ids(organization_id))


def endpoint_owners_for(*, host_ids: list[int]) -> Q:
    """A filter on the endpoints that receive events about ``host_ids``' things: their
    personal endpoints, and the endpoints of their organizations made by a current admin."""
    organizations = Membership.objects.filter(user_id__in=host_ids, removed_at__isnull=True).values(
        "organization_id"
    )
    current_admins = Membership.objects.filter(
        organization_id__in=organizations, role=Role.ADMIN, removed_at__isnull=True
    ).values("user_id")
    personal = Q(organization__isnull=True, owner_id__in=host_ids)
    organization_wide = Q(organization_id__in=organizations, owner_id__in=current_admins)
    return personal | organization_wide
