"""Making join-link emails once-only keeps each booking's oldest row, with its link."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from booking.models import Booking
from tests.support.booking import at, book, workday

BEFORE = [("booking", "0012_booking_no_join_link"), ("calendars", "0009_calendar_online_meetings")]
AFTER = [("booking", "0013_join_link_emails_once")]
LINK = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_duplicate_join_link_rows_shrink_to_the_oldest_which_keeps_its_link(client, host, page):
    day = workday("Europe/London")
    for hour in (10, 11):
        assert book(client, page.slug, start=at(day, hour)).status_code == 201
    with_link, without = Booking.objects.order_by("start")
    try:
        old = _migrate(BEFORE)
        Email = old.get_model("booking", "BookingEmail")
        Connection = old.get_model("calendars", "CalendarConnection")
        Calendar = old.get_model("calendars", "Calendar")
        PushedEvent = old.get_model("calendars", "PushedEvent")
        account = Connection.objects.create(
            host_id=host.pk, provider="office365", account_id="u.t", account_email="a@contoso.com"
        )
        calendar = Calendar.objects.create(connection=account, remote_id="AAA", name="Calendar")
        PushedEvent.objects.create(
            host_id=host.pk,
            calendar=calendar,
            source=f"booking:{with_link.uuid}",
            payload={},
            online_meeting_url=LINK,
        )
        now = timezone.now()
        rows = [
            Email.objects.create(booking_id=booking.pk, kind=kind, actor="calendar", queued_at=now)
            for booking, kind in (
                (with_link, "join_link"),
                (with_link, "join_link"),  # two workers' race
                (without, "join_link"),
                (with_link, "confirmed"),
            )
        ]

        new = _migrate(AFTER)
        kept = new.get_model("booking", "BookingEmail").objects.filter(pk__in=[r.pk for r in rows])
        assert list(kept.order_by("pk").values_list("pk", "link_digest")) == [
            (rows[0].pk, hashlib.sha256(LINK.encode()).hexdigest()),
            (rows[2].pk, ""),
            (rows[3].pk, ""),
        ]
    finally:
        _migrate(_latest())
