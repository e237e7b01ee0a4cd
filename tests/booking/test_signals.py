"""Booking follows calendar connections: main calendars and re-pushing future bookings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from booking.models import Booking, BookingStatus
from booking.services.pages import page_create
from calendars.models import Calendar, CalendarConnection, PushedEvent
from calendars.signals import calendars_changed, connection_established
from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db


def _connect(host, account: str, *, new_account: bool = True):
    CalendarConnection.objects.filter(host=host, status="connected").update(status="disconnected")
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id=account, account_email=f"{account}@contoso.com"
    )
    Calendar.objects.create(connection=connection, remote_id=f"{account}-x", name="Birthdays")
    default = Calendar.objects.create(
        connection=connection, remote_id=f"{account}-1", name="Calendar", is_default=True
    )
    connection_established.send(
        sender=CalendarConnection, connection=connection, new_account=new_account
    )
    return connection, default


def test_connecting_gives_pages_without_a_main_calendar_the_default_one(host, teammate):
    page = page_create(host=host, fields={"title": "A", "slug": "a"})
    bobs = page_create(host=teammate, fields={"title": "B", "slug": "b"})
    _, default = _connect(host, "alice")
    page.refresh_from_db()
    bobs.refresh_from_db()
    assert page.main_calendar == default
    assert bobs.main_calendar is None
    # A page created afterwards starts with the default calendar too.
    assert page_create(host=host, fields={"title": "C", "slug": "c"}).main_calendar == default


def test_calendars_changed_replaces_a_main_calendar_that_went_away(host):
    page = page_create(host=host, fields={"title": "A", "slug": "a"})
    connection, default = _connect(host, "alice")
    chosen = Calendar.objects.get(name="Birthdays")
    page.main_calendar = chosen
    page.save()
    calendars_changed.send(sender=CalendarConnection, connection=connection)
    page.refresh_from_db()
    assert page.main_calendar == chosen  # still there: the host's choice stays
    chosen.is_active = False
    chosen.save()
    calendars_changed.send(sender=CalendarConnection, connection=connection)
    page.refresh_from_db()
    assert page.main_calendar == default


def test_a_new_account_gets_every_future_booking(client, host):
    page = page_create(host=host, fields={"title": "A", "slug": "a"})
    _, old_default = _connect(host, "old")
    day = workday("Europe/London")
    future = book(client, "a", start=at(day, 10)).json()
    cancelled = book(client, "a", start=at(day, 11), email="c@example.com").json()
    client.post(cancelled["cancel_url"], {"reason": ""})
    past_start = timezone.now() - timedelta(days=2)
    Booking.objects.create(
        page=page,
        host=host,
        title="A",
        start=past_start,
        end=past_start + timedelta(minutes=30),
        invitee_name="P",
        invitee_email="p@example.com",
        invitee_time_zone="UTC",
    )
    assert PushedEvent.objects.filter(calendar=old_default, wanted=True).count() == 1

    _, new_default = _connect(host, "new", new_account=True)
    page.refresh_from_db()
    assert page.main_calendar == new_default
    rows = PushedEvent.objects.filter(calendar=new_default)
    assert [row.source for row in rows] == [f"booking:{future['id']}"]
    # The old, disconnected account's row is left for the push worker to settle.
    assert PushedEvent.objects.get(calendar=old_default, source=f"booking:{future['id']}").wanted
    assert Booking.objects.filter(status=BookingStatus.CONFIRMED).count() == 2


def test_reconnecting_the_same_account_does_not_push_again(client, host):
    page_create(host=host, fields={"title": "A", "slug": "a"})
    connection, _default = _connect(host, "alice")
    book(client, "a", start=at(workday("Europe/London"), 10))
    row = PushedEvent.objects.get()
    connection_established.send(sender=CalendarConnection, connection=connection, new_account=False)
    row.refresh_from_db()
    assert (PushedEvent.objects.count(), row.version) == (1, 1)
