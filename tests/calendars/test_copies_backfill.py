"""Bookings from before "one booking, one meeting" invited the invitee from their add
bookings copies too, until their next move. Migration booking/0015 gives those copies
the state a move would (no attendees, no meeting of their own) without moving them."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from booking.models import Booking, PageCalendar
from calendars.models import PushedEvent, PushState
from tests.calendars.test_push import calendar_of, ours, push
from tests.support.booking import book
from tests.support.office365 import MEGAN, offered, rows_for, tomorrow

pytestmark = pytest.mark.slow

MIGRATION = "booking.migrations.0015_add_bookings_copies_without_invitee"


def _backfill() -> None:
    importlib.import_module(MIGRATION).copies_without_invitee(apps, None)


def _book_as_before_links(client, adele, intro, *, index: int = 0):
    """A booking whose add-bookings copy is a whole meeting, as pushes made them before."""
    start, _ = offered(client, "intro", first=tomorrow())[index]
    answer = book(client, "intro", start=start, name="Megan", email=MEGAN, answers={})
    assert answer.status_code == 201
    main, extra = rows_for(answer.json()["id"])
    PushedEvent.objects.filter(pk=extra.pk).update(payload=main.payload)
    return answer.json(), main, extra


def test_a_copy_made_before_links_loses_the_invitee_and_the_meeting_once(
    client, adele, intro, o365, django_capture_on_commit_callbacks
):
    personal = calendar_of(adele, "Personal")
    PageCalendar.objects.create(page=intro, calendar=personal, add_bookings=True)
    made, main, extra = _book_as_before_links(client, adele, intro)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(main) == "synced"
        assert push(extra) == "synced"
    [in_personal] = ours(o365, calendar="Personal")
    assert in_personal.attendees  # the old way: Megan invited from the copy too

    _backfill()
    main_after, extra_after = rows_for(made["id"])
    assert (main_after.payload, main_after.version) == (main.payload, main.version)
    assert extra_after.payload["attendees"] == []
    assert extra_after.payload["online_meeting"] is False
    assert (extra_after.state, extra_after.queued_at) == (PushState.PENDING, None)
    assert extra_after.version == extra.version + 1
    with django_capture_on_commit_callbacks(execute=True):
        assert push(extra_after) == "synced"
    [in_main] = ours(o365)
    [in_personal] = ours(o365, calendar="Personal")
    assert in_personal.attendees == []
    assert in_main.attendees == [{"name": "Megan", "address": MEGAN, "type": "required"}]
    assert in_personal.id == extra_after.remote_id  # updated, not made again

    # Run again (a second deploy, or a booking already right): nothing changes.
    _backfill()
    assert [row.version for row in rows_for(made["id"])] == [main.version, extra.version + 1]


def test_past_bookings_and_bookings_made_the_new_way_are_left_alone(client, adele, intro, o365):
    personal = calendar_of(adele, "Personal")
    PageCalendar.objects.create(page=intro, calendar=personal, add_bookings=True)
    past, _, _ = _book_as_before_links(client, adele, intro, index=0)
    Booking.objects.filter(uuid=past["id"]).update(
        start=timezone.now() - timedelta(days=2), end=timezone.now() - timedelta(days=2, hours=-1)
    )
    current = book(
        client, "intro", start=offered(client, "intro", first=tomorrow())[2][0], answers={}
    ).json()
    before = {row.pk: (row.version, row.payload) for row in PushedEvent.objects.all()}
    _backfill()
    after = {row.pk: (row.version, row.payload) for row in PushedEvent.objects.all()}
    assert after == before
    assert rows_for(current["id"])[1].payload["attendees"] == []  # made the new way
    assert rows_for(past["id"])[1].payload["attendees"]  # over: left as it was
