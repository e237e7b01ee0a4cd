"""Writes about organizations: sign-up's organization, invitations, roles, removals.

Role changes and removals lock the organization's row, so two admins demoting each
other at once cannot leave the organization without an admin. Removing a member
deletes nothing: their membership row is kept with ``removed_at``, and
``member_removed`` lets booking stop their pages from taking bookings.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import (
    Invitation,
    InvitationState,
    Membership,
    Organization,
    Role,
    User,
)
from accounts.selectors import membership_of

log = logging.getLogger(__name__)

INVITATION_DAYS = 7
INVITATION_SALT = "accounts.invitation"

# Sent (inside the removing transaction) with ``membership=`` after a member is removed.
member_removed = Signal()
# Sent (inside the accepting transaction) with ``membership=`` after someone joined
# (integrations: the ``team.member_joined`` webhook).
member_joined = Signal()
# Sent (inside the accepting transaction) with ``user=``, ``old=`` and ``new=`` when the
# only member of an organization joins another: what belongs to ``old`` that must not be
# lost with it follows them (booking: its pages; integrations: its webhook endpoints).
organization_leaving = Signal()
# Sent (inside the saving transaction) with ``user=`` after a user changed their own time
# zone (calendars: all-day busy time is days in the host's zone, so it is read again).
time_zone_changed = Signal()


class OrganizationError(Exception):
    """A request about an organization that cannot be done; ``message`` is for the admin."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- organizations -------------------------------------------------------------------------


def organization_default_name(*, user: User) -> str:
    """What a new organization is called until its admin names it: "Hanna Neu's
    organization" ("Organisation von Hanna Neu"), in the person's language. Named after
    the person alone, it read as if it were them ("Everyone in Hanna Neu", the invitation
    "join Hanna Neu")."""
    person = (user.name or user.email.split("@")[0]).strip()
    with translation.override(user.language or translation.get_language() or "en"):
        return _("%(name)s's organization") % {"name": person}


def organization_create_for(*, user: User, name: str = "") -> Membership:
    """A new organization with ``user`` as its admin (sign-up): ``name``, else the
    default name (``organization_default_name``)."""
    name = (name.strip() or organization_default_name(user=user))[:150]
    organization = Organization.objects.create(name=name)
    return Membership.objects.create(organization=organization, user=user, role=Role.ADMIN)


def organization_update(
    *, organization: Organization, name: str, require_two_factor: bool
) -> Organization:
    organization.name = name.strip()[:150] or organization.name
    organization.require_two_factor = require_two_factor
    organization.save(update_fields=["name", "require_two_factor"])
    return organization


def _lock(organization: Organization) -> None:
    Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk").first()


# --- invitations ---------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=INVITATION_SALT)


def invitation_link(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("accounts:invitation", args=[invitation_token(invitation)])


def invitation_expires_at(invitation: Invitation) -> datetime:
    return invitation.sent_at + timedelta(days=INVITATION_DAYS)


def invitation_from_token(
    token: str, *, now: datetime | None = None
) -> tuple[Invitation | None, str]:
    """The pending invitation a link names, or None and a message saying why not.

    A link stops working once the invitation is accepted, revoked, resent (a new
    link replaces it) or ``INVITATION_DAYS`` old.
    """
    now = now or timezone.now()
    invalid = _("This invitation link is not valid. Ask your admin to send a new one.")
    try:
        data = signing.loads(token, salt=INVITATION_SALT)
        pk, nonce = int(data["i"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None, invalid
    invitation = Invitation.objects.select_related("organization").filter(pk=pk).first()
    if invitation is None or not secrets.compare_digest(invitation.nonce, nonce):
        return None, invalid
    if invitation.state == InvitationState.ACCEPTED:
        return None, _("This invitation was already accepted. Log in to continue.")
    if invitation.state == InvitationState.REVOKED:
        return None, _("This invitation was withdrawn. Ask your admin to send a new one.")
    if now >= invitation_expires_at(invitation):
        return None, _("This invitation expired. Ask your admin to send a new one.")
    return invitation, ""


def invitation_create(
    *, organization: Organization, email: str, role: str, invited_by: User
) -> Invitation:
    """Invite ``email`` into the organization and send the link (after commit)."""
    email = email.strip().lower()
    if role not in Role.values:
        raise OrganizationError(_("Choose a role."))
    with transaction.atomic():
        _lock(organization)
        member = Membership.objects.filter(
            organization=organization, user__email__iexact=email, removed_at__isnull=True
        ).exists()
        if member:
            raise OrganizationError(_("%(email)s is already a member.") % {"email": email})
        if Invitation.objects.filter(
            organization=organization, email__iexact=email, state=InvitationState.PENDING
        ).exists():
            raise OrganizationError(
                _("%(email)s already has a pending invitation; resend it instead.")
                % {"email": email}
            )
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            invited_by=invited_by,
            nonce=secrets.token_urlsafe(24),
        )
        _send_on_commit(invitation)
    return invitation


def invitation_resend(*, invitation: Invitation, now: datetime | None = None) -> Invitation:
    """A fresh link (the old one stops working) valid for another ``INVITATION_DAYS``."""
    if invitation.state != InvitationState.PENDING:
        raise OrganizationError(_("Only a pending invitation can be resent."))
    with transaction.atomic():
        invitation.nonce = secrets.token_urlsafe(24)
        invitation.sent_at = now or timezone.now()
        invitation.save(update_fields=["nonce", "sent_at"])
        _send_on_commit(invitation)
    return invitation


def invitation_revoke(*, invitation: Invitation, now: datetime | None = None) -> Invitation:
    if invitation.state != InvitationState.PENDING:
        raise OrganizationError(_("Only a pending invitation can be withdrawn."))
    invitation.state = InvitationState.REVOKED
    invitation.ended_at = now or timezone.now()
    invitation.save(update_fields=["state", "ended_at"])
    return invitation


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Make ``user`` (whose email the invitation names) a member, once.

    A user who is the only member of another organization (as everyone who signed up
    on their own is of theirs) moves: their pages, bookings, calendar connection,
    webhooks and API tokens come along, and the organization left empty goes away
    (``_leave_alone_organization``). A user of an organization with other people in it
    is refused. The invitation row is locked, so two clicks on one link make one
    membership.
    """
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.state != InvitationState.PENDING:
            raise OrganizationError(_("This invitation is no longer open."))
        if user.email.lower() != invitation.email.lower():
            raise OrganizationError(
                _("This invitation is for %(email)s; log in with that address.")
                % {"email": invitation.email}
            )
        current = membership_of(user=user)
        if current is not None:
            _leave_alone_organization(membership=current, into=invitation.organization)
        membership = Membership.objects.create(
            organization=invitation.organization, user=user, role=invitation.role
        )
        invitation.state = InvitationState.ACCEPTED
        invitation.accepted_by = user
        invitation.ended_at = timezone.now()
        invitation.save(update_fields=["state", "accepted_by", "ended_at"])
        member_joined.send(sender=Membership, membership=membership)
    return membership


def _leave_alone_organization(*, membership: Membership, into: Organization) -> None:
    """End ``membership`` so its user can join ``into``: only when nobody else is in its
    organization now. Its pages and webhook endpoints follow (``organization_leaving``);
    its pending invitations are withdrawn; the organization is deleted when nobody was
    ever in it but this user (else it stays for its former members' things)."""
    old = membership.organization
    if old.pk == into.pk:
        raise OrganizationError(
            _("You are already a member of %(organization)s.") % {"organization": into.name}
        )
    _lock(old)
    others = Membership.objects.filter(organization=old).exclude(pk=membership.pk)
    if others.filter(removed_at__isnull=True).exists():
        if membership.role == Role.ADMIN:
            message = _(
                "You are an admin of %(organization)s, which has other members, and an "
                "account can be in one organization only. Make someone else an admin "
                "there and ask them to remove you, then open this link again."
            )
        else:
            message = _(
                "Your account belongs to %(organization)s, which has other members, and "
                "an account can be in one organization only. Ask an admin there to "
                "remove you, then open this link again."
            )
        raise OrganizationError(message % {"organization": old.name})
    now = timezone.now()
    organization_leaving.send(sender=Organization, user=membership.user, old=old, new=into)
    old.invitations.filter(state=InvitationState.PENDING).update(
        state=InvitationState.REVOKED, ended_at=now
    )
    if others.exists():
        membership.removed_at = now
        membership.save(update_fields=["removed_at"])
    else:
        old.delete()
    log.info("user %s left organization %s to join %s", membership.user_id, old.pk, into.pk)


def _send_on_commit(invitation: Invitation) -> None:
    """The invitation's email, as an outbox row in the caller's transaction (sent by a
    worker after commit; see ``accounts.invitation_outbox``)."""
    from accounts.invitation_outbox import invitation_email_add

    invitation_email_add(invitation=invitation)


# --- roles and removal -----------------------------------------------------------------------


def member_set_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the organization always keeps at least one admin."""
    if role not in Role.values:
        raise OrganizationError(_("Choose a role."))
    with transaction.atomic():
        _lock(membership.organization)
        membership = Membership.objects.get(pk=membership.pk)
        if membership.removed_at is not None:
            raise OrganizationError(_("This person is no longer a member."))
        if membership.role == Role.ADMIN and role != Role.ADMIN:
            _keep_an_admin(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def member_remove(*, membership: Membership, now: datetime | None = None) -> Membership:
    """Remove a member: they leave the organization and their pages stop taking bookings.

    Deletes nothing: their account, pages, bookings and calendar connection stay, so
    bookings already made still reach their calendar while their connection lasts.
    """
    with transaction.atomic():
        _lock(membership.organization)
        membership = Membership.objects.select_related("user", "organization").get(pk=membership.pk)
        if membership.removed_at is not None:
            raise OrganizationError(_("This person is no longer a member."))
        if membership.role == Role.ADMIN:
            _keep_an_admin(membership)
        membership.removed_at = now or timezone.now()
        membership.save(update_fields=["removed_at"])
        member_removed.send(sender=Membership, membership=membership)
    return membership


def organization_admin_restore(*, organization_id: int) -> Membership | None:
    """Give an organization that has current members but no admin who can sign in (its
    last admin's account was deleted or deactivated, which Team's own actions never
    allow) an admin again: its longest-standing current member whose account is active.
    Returns who became admin, or None when nothing needed doing (or nobody can be).

    An organization with no current member (kept for its former members' records after
    its last member joined another) has nobody to administer and is left as it is."""
    with transaction.atomic():
        organization = Organization.objects.select_for_update().filter(pk=organization_id).first()
        if organization is None:
            return None
        current = Membership.objects.select_related("user").filter(
            organization=organization, removed_at__isnull=True, user__is_active=True
        )
        if current.filter(role=Role.ADMIN).exists():
            return None
        heir = current.order_by("joined_at", "pk").first()
        if heir is None:
            return None
        heir.role = Role.ADMIN
        heir.save(update_fields=["role"])
    log.warning(
        "organization %s had no admin left: membership %s (longest-standing) is admin now",
        organization_id,
        heir.pk,
    )
    return heir


def _keep_an_admin(membership: Membership) -> None:
    others = Membership.objects.filter(
        organization_id=membership.organization_id, role=Role.ADMIN, removed_at__isnull=True
    ).exclude(pk=membership.pk)
    if not others.exists():
        raise OrganizationError(
            _("An organization needs at least one admin. Make someone else an admin first.")
        )
