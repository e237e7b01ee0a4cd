"""A collective booking takes every member's time: their own pages' cached slots forget it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache

from booking.availability_cache import slot_answers
from booking.models import BookingPage
from booking.selectors import day_window
from booking.services.bookings import Invitee, booking_cancel, booking_create
from booking.services.pages import page_create
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 22, 6, 0, tzinfo=UTC)  # a Monday
INVITEE = Invitee(name="Dana Invitee", email="dana@example.com", time_zone="Europe/London")


def _answers(page: BookingPage) -> list:
    page = BookingPage.objects.select_related("host").get(pk=page.pk)
    start, end = day_window(first=date(2027, 3, 22), last=date(2027, 3, 26), time_zone="UTC")
    answers = slot_answers(page=page, start=start, end=end, now=NOW, time_zone="UTC")
    return [datetime.fromisoformat(start) for start, _ in answers]


def test_a_collective_booking_and_its_cancellation_reach_the_attending_members_pages(
    org, host, teammate, team_calendars, django_capture_on_commit_callbacks
):
    from booking.events import Actor

    _, carol = org
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        team = make_team_page(
            org=org, admin=host, kind="collective", users=[carol, teammate], slug="all"
        )
        own = page_create(host=carol, fields={"title": "Carol's", "slug": "carol"})
    at = datetime(2027, 3, 23, 10, 0, tzinfo=UTC)
    assert at in _answers(own)  # cached now
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(page=team, start=at, invitee=INVITEE, now=NOW)
    assert booking.host == teammate  # Carol attends: the booking is not hers
    assert at not in _answers(own)
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=Actor.INVITEE, now=NOW + timedelta(minutes=1))
    assert at in _answers(own)
