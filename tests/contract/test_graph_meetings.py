"""Meetings: an organizer's event with attendees reaches each attendee's own calendar.

From Microsoft Graph v1.0 and Exchange: "Create event" ("when an event is sent, the
server sends invitations to all attendees"), the event resource (``iCalUId`` shared by
the organizer's and attendees' copies, ``isOrganizer``, ``responseStatus``), "Update
event" (changes are sent to attendees) and "Delete event" ("if the organizer deletes a
meeting, a cancellation is sent"; the attendee's copy shows ``isCancelled``).
"""

from __future__ import annotations

import uuid

import pytest

from tests.contract.conftest import ADELE, MEGAN
from tests.contract.test_graph_calendar_view import calendar_ids

pytestmark = [pytest.mark.slow]

WINDOW = "startDateTime=2031-05-05T00:00:00Z&endDateTime=2031-05-06T00:00:00Z"


def _meeting() -> dict:
    return {
        "subject": "Team intro with Dana",
        "body": {"contentType": "text", "content": "Booked through ScheduleOnce."},
        "start": {"dateTime": "2031-05-05T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2031-05-05T10:30:00", "timeZone": "UTC"},
        "attendees": [
            {"emailAddress": {"address": "dana@example.com", "name": "Dana"}, "type": "required"},
            {"emailAddress": {"address": MEGAN, "name": "Megan"}, "type": "required"},
        ],
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 60,
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
        "transactionId": str(uuid.uuid4()),
    }


def _megans_copies(graph) -> list[dict]:
    calendar = calendar_ids(graph, MEGAN)["Calendar"]
    answer = graph("GET", f"/me/calendars/{calendar}/calendarView?{WINDOW}", as_=MEGAN)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["value"] if e["subject"].endswith("Team intro with Dana")]


def test_an_attendee_in_the_tenant_gets_the_meeting_in_their_own_calendar(graph):
    calendar = calendar_ids(graph)["Calendar"]
    event = graph("POST", f"/me/calendars/{calendar}/events", json=_meeting()).json()
    (copy,) = _megans_copies(graph)
    assert copy["id"] != event["id"]
    assert copy["iCalUId"] == event["iCalUId"]
    assert copy["isOrganizer"] is False
    assert copy["organizer"]["emailAddress"]["address"] == ADELE
    assert copy["responseStatus"]["response"] == "notResponded"
    assert copy["showAs"] == "tentative"
    # One Teams meeting: the same join link in both calendars.
    assert copy["onlineMeeting"]["joinUrl"] == event["onlineMeeting"]["joinUrl"]
    # The attendee's own reminder, not the organizer's.
    assert copy["reminderMinutesBeforeStart"] == 15
    assert event["responseStatus"]["response"] == "organizer"


def test_the_organizers_changes_and_cancellation_reach_the_copy(graph):
    event = graph("POST", "/me/events", json=_meeting()).json()
    moved = {
        "start": {"dateTime": "2031-05-05T11:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2031-05-05T11:30:00", "timeZone": "UTC"},
    }
    assert graph("PATCH", f"/me/events/{event['id']}", json=moved).status_code == 200
    (copy,) = _megans_copies(graph)
    assert copy["start"]["dateTime"].startswith("2031-05-05T11:00:00")
    assert graph("DELETE", f"/me/events/{event['id']}").status_code == 204
    (copy,) = _megans_copies(graph)
    assert copy["isCancelled"] is True
    assert copy["subject"] == "Canceled: Team intro with Dana"
