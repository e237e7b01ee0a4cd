"""Reads about organizations: who belongs where, and who may administer what.

Every Setup view scopes its data through these: a user sees their own things, an
admin also their organization's people, never another organization's.
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Invitation, InvitationState, Membership, Organization, Role


def membership_of(*, user) -> Membership | None:
    """The user's current membership (None for an anonymous or removed user)."""
    if user is None or not getattr(user, "is_authenticated", True) or user.pk is None:
        return None
    return (
        Membership.objects.select_related("organization")
        .filter(user_id=user.pk, removed_at__isnull=True)
        .first()
    )


def organization_of(*, user) -> Organization | None:
    membership = membership_of(user=user)
    return membership.organization if membership else None


def is_admin_of(*, user, organization: Organization | None = None) -> bool:
    """Whether ``user`` is a current admin (of ``organization``, when given)."""
    membership = membership_of(user=user)
    if membership is None or not membership.is_admin:
        return False
    return organization is None or membership.organization_id == organization.pk


def members_of(*, organization: Organization) -> QuerySet[Membership]:
    """Current members, admins first, then by email."""
    return (
        Membership.objects.select_related("user")
        .filter(organization=organization, removed_at__isnull=True)
        .order_by("role", "user__email")
    )


def member_of(*, organization: Organization, pk: int) -> Membership | None:
    """A current membership of ``organization`` by id, or None (also another org's)."""
    return members_of(organization=organization).filter(pk=pk).first()


def former_members_of(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("user")
        .filter(organization=organization, removed_at__isnull=False)
        .order_by("-removed_at")
    )


def admins_count(*, organization: Organization) -> int:
    return members_of(organization=organization).filter(role=Role.ADMIN).count()


def pending_invitations_of(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization, state=InvitationState.PENDING)


def invitation_of(*, organization: Organization, pk: int) -> Invitation | None:
    return Invitation.objects.filter(organization=organization, pk=pk).first()


def same_organization(*, user, other_user_id: int) -> bool:
    organization = organization_of(user=user)
    return (
        organization is not None
        and Membership.objects.filter(
            organization=organization, user_id=other_user_id, removed_at__isnull=True
        ).exists()
    )


def organization_alone_in(*, user) -> Organization | None:
    """The organization ``user`` is the only current member of (as everyone who signed up
    on their own is of theirs), else None."""
    membership = membership_of(user=user)
    if membership is None:
        return None
    others = Membership.objects.filter(
        organization_id=membership.organization_id, removed_at__isnull=True
    ).exclude(pk=membership.pk)
    return None if others.exists() else membership.organization
