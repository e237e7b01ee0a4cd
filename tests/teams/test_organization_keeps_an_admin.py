"""An organization with members never stays without an admin who can sign in.

Team's own actions refuse to remove or demote the last admin; but the admin's account
can go another way (deleted or deactivated in Django's admin), which left the members
with nobody to invite, remove or edit team pages. The longest-standing member who can
sign in becomes admin. An organization kept only for its former members' records (its
last member joined another) has nobody to administer and stays as it is.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db(transaction=True)


def _joined(user, days_ago: int) -> None:
    Membership.objects.filter(user=user).update(joined_at=timezone.now() - timedelta(days=days_ago))


def _role(user) -> str:
    return Membership.objects.get(user=user, removed_at__isnull=True).role


@pytest.mark.parametrize("how", ["deleted", "deactivated"])
def test_the_longest_standing_member_becomes_admin_when_the_last_admin_goes(
    client, org, host, teammate, how
):
    _, carol = org
    _joined(carol, 30)
    _joined(teammate, 10)
    if how == "deleted":
        host.delete()
    else:
        host.is_active = False
        host.save()
    assert _role(carol) == Role.ADMIN
    assert _role(teammate) == Role.MEMBER
    client.force_login(carol)
    assert client.get("/setup/team/").status_code == 200


def test_another_admin_left_means_nobody_is_promoted(org, host, teammate):
    _, carol = org
    Membership.objects.filter(user=teammate).update(role=Role.ADMIN)
    _joined(carol, 30)
    host.delete()
    assert _role(teammate) == Role.ADMIN
    assert _role(carol) == Role.MEMBER


def test_a_removed_or_deactivated_member_is_never_made_admin(org, host, teammate):
    from accounts.services import member_remove

    _, carol = org
    _joined(carol, 30)
    _joined(teammate, 10)
    member_remove(membership=Membership.objects.get(user=carol))
    carol.is_active = False
    carol.save()
    host.delete()
    assert _role(teammate) == Role.ADMIN
    assert Membership.objects.get(user=carol).role == Role.MEMBER


def test_the_migration_gives_admin_less_organizations_an_admin(org, host, teammate, other_org):
    _, carol = org
    _joined(carol, 30)
    # As a deletion before the receivers left it: nobody is admin of Contoso.
    Membership.objects.filter(user=host).update(role=Role.MEMBER)
    migration = importlib.import_module("accounts.migrations.0007_organizations_keep_an_admin")
    migration.admins_restore(apps, None)
    assert _role(carol) == Role.ADMIN
    assert _role(host) == Role.MEMBER
    assert Membership.objects.filter(organization=other_org, role=Role.ADMIN).count() == 1
