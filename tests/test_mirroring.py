"""Booking asks for events in calendars; the rows are the outbox the push worker drains."""

from __future__ import annotations

import pytest

from calendars.events import EventDescription
from calendars.models import Calendar, CalendarConnection, PushedEvent, PushState
from calendars.services.mirroring import event_mirror, event_unmirror
from tests.support.events import INTRO_CALL

pytestmark = pytest.mark.django_db

EVENT = INTRO_CALL


@pytest.fixture
def calendars(host):
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    main = Calendar.objects.create(connection=connection, remote_id="AAA", name="Calendar")
    extra = Calendar.objects.create(connection=connection, remote_id="BBB", name="Team")
    return main, extra


def test_event_description_survives_json():
    assert EventDescription.from_json(EVENT.to_json()) == EVENT


def test_mirror_writes_one_pending_row_per_calendar_and_is_idempotent(host, calendars):
    rows = event_mirror(host=host, source="booking:1", event=EVENT, calendars=calendars)
    assert {r.calendar for r in rows} == set(calendars)
    assert all(r.state == PushState.PENDING and r.wanted for r in rows)
    assert event_mirror(host=host, source="booking:1", event=EVENT, calendars=calendars) == []
    assert PushedEvent.objects.count() == 2
    keys = set(PushedEvent.objects.values_list("transaction_id", flat=True))
    assert len(keys) == 2


def test_mirror_to_fewer_calendars_unwants_the_others(host, calendars):
    main, extra = calendars
    event_mirror(host=host, source="booking:1", event=EVENT, calendars=calendars)
    changed = event_mirror(host=host, source="booking:1", event=EVENT, calendars=[main])
    assert [(r.calendar, r.wanted, r.version) for r in changed] == [(extra, False, 2)]


def test_reschedule_bumps_the_version(host, calendars):
    main, _ = calendars
    event_mirror(host=host, source="booking:1", event=EVENT, calendars=[main])
    moved = EventDescription(**{**EVENT.__dict__, "start": EVENT.end, "end": EVENT.end})
    [row] = event_mirror(host=host, source="booking:1", event=moved, calendars=[main])
    assert row.version == 2
    assert row.payload["start"] == EVENT.end.isoformat()


def test_rows_of_a_disconnected_account_wait(host, calendars):
    main, _ = calendars
    CalendarConnection.objects.update(status="disconnected")
    [row] = event_mirror(host=host, source="booking:1", event=EVENT, calendars=[main])
    assert row.state == PushState.WAITING


def test_unmirror_unwants_every_copy(host, calendars):
    event_mirror(host=host, source="booking:1", event=EVENT, calendars=calendars)
    changed = event_unmirror(source="booking:1")
    assert len(changed) == 2
    assert not PushedEvent.objects.filter(wanted=True).exists()
    assert event_unmirror(source="booking:1") == []


def test_the_first_calendar_holds_the_meeting_and_the_others_a_copy_for_the_records(
    host, calendars
):
    main, extra = calendars
    meeting = EventDescription(**{**EVENT.__dict__, "online_meeting": True})
    event_mirror(host=host, source="booking:1", event=meeting, calendars=[main, extra])
    payloads = {row.calendar: row.payload for row in PushedEvent.objects.all()}
    assert EventDescription.from_json(payloads[main]) == meeting
    copy = EventDescription.from_json(payloads[extra])
    assert (copy.attendees, copy.online_meeting) == ((), False)
    assert (copy.subject, copy.start, copy.location) == (EVENT.subject, EVENT.start, EVENT.location)

    # The page's main calendar becomes the other one: the two swap roles.
    changed = event_mirror(host=host, source="booking:1", event=meeting, calendars=[extra, main])
    assert {row.calendar for row in changed} == {main, extra}
    payloads = {row.calendar: row.payload for row in PushedEvent.objects.all()}
    assert EventDescription.from_json(payloads[extra]) == meeting
    assert EventDescription.from_json(payloads[main]).attendees == ()
