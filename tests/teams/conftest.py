"""An organization for team tests: Alice (admin), Bob and Carol (members), each with a
connected Office 365 account; and Charlie, an admin of another organization."""

from __future__ import annotations

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer

# As in tests/booking: the racing tests' 50 simultaneous connections must queue at the
# test server rather than be reset (Django's default backlog is 10).
ThreadedWSGIServer.request_queue_size = 128


@pytest.fixture(autouse=True)
def invitation_emails_in_process(request, monkeypatch):
    """Send invitation emails in the test process once the inviting transaction commits,
    as a worker would (Django's test outbox then holds them). Tests with real worker
    processes (``worker_factory``) leave them to the workers, and tests of a broker
    that is down (``broker_unreachable``) to the real dispatch."""
    if {"worker_factory", "broker_unreachable"} & set(request.fixturenames):
        yield
        return
    from django.db import transaction

    from accounts import invitation_outbox

    class InProcess:
        @staticmethod
        def task_send_on_commit(name, *, args_list, countdown=None):
            batch = [list(args) for args in args_list]

            def run():
                for args in batch:
                    invitation_outbox.invitation_email_send(email_id=args[0])

            transaction.on_commit(run)

    monkeypatch.setattr(invitation_outbox, "dispatch", InProcess)
    yield


def connect(user, address: str):
    """A connected account with a default calendar for ``user`` (as Office 365 leaves it)."""
    from calendars.models import Calendar, CalendarConnection
    from calendars.signals import connection_established

    connection = CalendarConnection.objects.create(
        host=user, provider="office365", account_id=f"uid-{user.pk}.tid", account_email=address
    )
    calendar = Calendar.objects.create(
        connection=connection, remote_id=f"CAL-{user.pk}", name="Calendar", is_default=True
    )
    connection_established.send(sender=CalendarConnection, connection=connection, new_account=True)
    return calendar


@pytest.fixture
def org(host, teammate, django_user_model):
    """Alice's organization with Bob and Carol as members: (organization, carol)."""
    from accounts.models import Membership, Role
    from accounts.services import organization_create_for

    membership = organization_create_for(user=host, name="Contoso")
    carol = django_user_model.objects.create_user(
        "carol@example.com", "carol-password-1", name="Carol Member", time_zone="Europe/Berlin"
    )
    for user in (teammate, carol):
        Membership.objects.create(organization=membership.organization, user=user, role=Role.MEMBER)
    return membership.organization, carol


@pytest.fixture
def other_org(outsider):
    from accounts.services import organization_create_for

    return organization_create_for(user=outsider, name="Fabrikam").organization


@pytest.fixture
def team_calendars(org, host, teammate):
    _, carol = org
    return {
        user.pk: connect(user, address)
        for user, address in (
            (host, "alice@contoso.example"),
            (teammate, "bob@contoso.example"),
            (carol, "carol@contoso.example"),
        )
    }


def make_team_page(*, org, admin, kind: str, users, slug: str, **fields):
    from booking.services.teams import Seat, team_page_create

    organization = org[0] if isinstance(org, tuple) else org
    return team_page_create(
        admin=admin,
        organization=organization,
        kind=kind,
        fields={"title": f"Team {kind}", "slug": slug, "time_zone": "Europe/London", **fields},
        seats=[user if isinstance(user, Seat) else Seat(user_id=user.pk) for user in users],
    )
