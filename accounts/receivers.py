"""Accounts' answers to changes made outside its services (Django's admin, a shell):
an organization with members never stays without an admin who can sign in."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, Role


def on_membership_deleted(sender, *, instance: Membership, **kwargs) -> None:
    """``post_delete`` of a membership (its user was deleted): a current admin gone may
    leave the organization without one."""
    if instance.role == Role.ADMIN and instance.removed_at is None:
        _restore_on_commit(instance.organization_id)


def on_user_saved(sender, *, instance, update_fields=None, **kwargs) -> None:
    """``post_save`` of a user: a deactivated admin can no longer sign in to administer."""
    if instance.is_active or (update_fields is not None and "is_active" not in update_fields):
        return
    memberships = Membership.objects.filter(
        user_id=instance.pk, role=Role.ADMIN, removed_at__isnull=True
    )
    for organization_id in memberships.values_list("organization_id", flat=True):
        _restore_on_commit(organization_id)


def _restore_on_commit(organization_id: int) -> None:
    from accounts.services import organization_admin_restore

    # After the deleting transaction: a user's deletion removes all their rows first.
    transaction.on_commit(lambda: organization_admin_restore(organization_id=organization_id))
