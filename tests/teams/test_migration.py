"""Moving to organizations: every existing host gets one of their own, as its admin, and
nothing they had is lost or changes hands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

CALENDARS = ("calendars", "0005_calendar_sync_state")
BEFORE = [("accounts", "0001_initial"), ("booking", "0002_booking_emails"), CALENDARS]
AFTER = [("accounts", "0003_one_organization_per_host"), ("booking", "0003_team_pages"), CALENDARS]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _host_with_everything(old, email: str, name: str):
    """A host with a page, a booking, a connected account and a pushed event."""
    user = old.get_model("accounts", "User").objects.create(
        email=email, name=name, password="!", time_zone="Europe/London"
    )
    Connection = old.get_model("calendars", "CalendarConnection")
    Calendar = old.get_model("calendars", "Calendar")
    account = Connection.objects.create(
        host_id=user.pk, provider="office365", account_id=f"{email}.tid", account_email=email
    )
    calendar = Calendar.objects.create(
        connection=account, remote_id=f"AAA-{email}", name="Calendar", is_default=True
    )
    page = old.get_model("booking", "BookingPage").objects.create(
        host_id=user.pk,
        title="Intro",
        slug=email.split("@")[0],
        time_zone="Europe/London",
        main_calendar=calendar,
    )
    start = datetime(2030, 1, 7, 10, tzinfo=UTC)
    booking = old.get_model("booking", "Booking").objects.create(
        page=page,
        host_id=user.pk,
        title="Intro",
        start=start,
        end=start + timedelta(minutes=30),
        invitee_name="Dana",
        invitee_email="dana@example.com",
        invitee_time_zone="Europe/Paris",
    )
    old.get_model("calendars", "PushedEvent").objects.create(
        host_id=user.pk,
        calendar=calendar,
        source=f"booking:{booking.uuid}",
        payload={"subject": "Intro with Dana"},
        state="synced",
        remote_id="EVT-1",
        synced_version=1,
    )
    return user.pk


@pytest.mark.django_db(transaction=True)
def test_each_existing_host_becomes_the_admin_of_an_organization_of_their_own():
    old = _migrate(BEFORE)
    ids = [
        _host_with_everything(old, "alice@example.com", "Alice Host"),
        _host_with_everything(old, "bob@example.com", ""),
    ]
    counts_before = _counts(old)
    try:
        new = _migrate(AFTER)
        Membership = new.get_model("accounts", "Membership")
        memberships = {m.user_id: m for m in Membership.objects.select_related("organization")}
        assert set(memberships) == set(ids)
        assert {m.role for m in memberships.values()} == {"admin"}
        assert len({m.organization_id for m in memberships.values()}) == 2
        assert memberships[ids[0]].organization.name == "Alice Host"
        assert memberships[ids[1]].organization.name == "bob"
        for page in new.get_model("booking", "BookingPage").objects.all():
            assert page.organization_id == memberships[page.host_id].organization_id
            assert page.team_kind == ""
        assert _counts(new) == counts_before  # nothing lost, nothing moved
        pushed = new.get_model("calendars", "PushedEvent").objects.get(host_id=ids[0])
        assert (pushed.state, pushed.remote_id) == ("synced", "EVT-1")

        # And back: the organizations go, everything else stays.
        back = _migrate(BEFORE)
        assert _counts(back) == counts_before
    finally:
        _migrate(_latest())


def _counts(apps) -> dict[str, list]:
    def rows(app, model, *fields):
        return sorted(apps.get_model(app, model).objects.values_list(*fields))

    return {
        "users": rows("accounts", "User", "pk", "email"),
        "pages": rows("booking", "BookingPage", "pk", "host_id", "slug", "main_calendar_id"),
        "bookings": rows("booking", "Booking", "pk", "host_id", "page_id", "start"),
        "connections": rows("calendars", "CalendarConnection", "pk", "host_id", "status"),
        "pushed": rows("calendars", "PushedEvent", "pk", "host_id", "calendar_id", "source"),
    }
