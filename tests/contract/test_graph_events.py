"""Creating, changing and deleting events.

From Microsoft Graph v1.0: "Create event" (``POST /me/calendars/{id}/events`` and
``/me/events``), "Update event", "Delete event", the event resource type
(``transactionId``, reminders, attendees, location, online meetings) and the
``dateTimeTimeZone`` type.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN, ROOM
from tests.contract.test_graph_calendar_view import calendar_ids

pytestmark = [pytest.mark.slow]


def booking(**overrides) -> dict:
    body = {
        "subject": "Intro call with Charlie",
        "body": {"contentType": "text", "content": "Booked through ScheduleOnce."},
        "start": {"dateTime": "2030-03-04T10:00:00", "timeZone": "Europe/London"},
        "end": {"dateTime": "2030-03-04T10:30:00", "timeZone": "Europe/London"},
        "location": {"displayName": "Phone"},
        "attendees": [
            {
                "emailAddress": {"address": "charlie@example.com", "name": "Charlie"},
                "type": "required",
            }
        ],
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 30,
        "showAs": "busy",
        "transactionId": str(uuid.uuid4()),
    }
    body.update(overrides)
    return body


def test_create_answers_201_with_the_event_as_stored(graph):
    calendar = calendar_ids(graph)["Calendar"]
    response = graph("POST", f"/me/calendars/{calendar}/events", json=booking())
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["subject"] == "Intro call with Charlie"
    assert event["start"] == {"dateTime": "2030-03-04T10:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "Europe/London"
    assert event["isReminderOn"] is True
    assert event["reminderMinutesBeforeStart"] == 30
    assert event["location"]["displayName"] == "Phone"
    (attendee,) = event["attendees"]
    assert attendee["emailAddress"] == {"address": "charlie@example.com", "name": "Charlie"}
    assert attendee["type"] == "required"
    assert attendee["status"]["response"] == "none"
    assert event["organizer"]["emailAddress"]["address"] == ADELE
    assert event["isOrganizer"] is True
    assert event["transactionId"]
    for field in ("id", "changeKey", "iCalUId"):
        assert event[field]

    (stored,) = [e for e in control.events(ADELE) if e.id == event["id"]]
    assert stored.start == datetime(2030, 3, 4, 10, tzinfo=UTC)
    assert stored.reminder_minutes == 30
    assert stored.attendees == [
        {"name": "Charlie", "address": "charlie@example.com", "type": "required"}
    ]


def test_times_are_read_in_the_time_zone_given(graph):
    body = booking(
        start={"dateTime": "2030-07-01T09:00:00", "timeZone": "Pacific Standard Time"},
        end={"dateTime": "2030-07-01T09:30:00.0000000", "timeZone": "Pacific Standard Time"},
    )
    event = graph("POST", "/me/events", json=body).json()
    assert event["start"]["dateTime"] == "2030-07-01T16:00:00.0000000"  # PDT is UTC-7
    asked = graph(
        "GET", f"/me/events/{event['id']}", headers={"Prefer": 'outlook.timezone="Europe/London"'}
    ).json()
    assert asked["start"] == {
        "dateTime": "2030-07-01T17:00:00.0000000",
        "timeZone": "Europe/London",
    }


def test_transaction_id_is_left_out_when_the_app_did_not_set_it(graph):
    event = graph("POST", "/me/events", json=booking(transactionId=None)).json()
    assert "transactionId" not in event


def test_a_retried_create_with_the_same_transaction_id_makes_no_second_event(graph):
    body = booking()
    first = graph("POST", "/me/events", json=body)
    again = graph("POST", "/me/events", json=body)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert [e.subject for e in control.events(ADELE, calendar="Calendar")].count(
        body["subject"]
    ) == 1


def test_a_different_event_reusing_a_transaction_id_is_refused(graph):
    body = booking()
    graph("POST", "/me/events", json=body)
    response = graph("POST", "/me/events", json={**body, "subject": "Something else"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorDuplicateTransactionId"
    assert len([e for e in control.events(ADELE) if e.transaction_id == body["transactionId"]]) == 1


def test_an_online_meeting_gets_a_join_url(graph):
    event = graph(
        "POST",
        "/me/events",
        json=booking(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness"),
    ).json()
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    assert event["onlineMeeting"]["joinUrl"].startswith("http")
    plain = graph("POST", "/me/events", json=booking()).json()
    assert plain["onlineMeeting"] is None


def _teams_meeting(graph) -> dict:
    return graph(
        "POST",
        "/me/events",
        json=booking(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness"),
    ).json()


def test_an_online_meetings_join_information_is_appended_to_its_body_as_html(graph):
    # Graph puts the meeting's details (the "meeting blob") into the event's body.
    event = _teams_meeting(graph)
    join_url = event["onlineMeeting"]["joinUrl"]
    assert event["body"]["contentType"] == "html"
    content = event["body"]["content"]
    assert "Booked through ScheduleOnce." in content
    assert f'href="{join_url}"' in content
    assert content.index("Booked through ScheduleOnce.") < content.index(join_url)
    plain = graph("POST", "/me/events", json=booking()).json()
    assert plain["body"] == {"contentType": "text", "content": "Booked through ScheduleOnce."}


def test_a_body_patched_without_the_meeting_blob_disables_the_online_meeting(graph):
    # "Update event": removing the meeting blob from the body would disable meeting
    # online, even when the PATCH says isOnlineMeeting again.
    event = _teams_meeting(graph)
    patched = graph(
        "PATCH",
        f"/me/events/{event['id']}",
        json={
            "body": {"contentType": "text", "content": "Moved."},
            "isOnlineMeeting": True,
            "onlineMeetingProvider": "teamsForBusiness",
        },
    ).json()
    assert patched["body"] == {"contentType": "text", "content": "Moved."}
    assert (patched["isOnlineMeeting"], patched["onlineMeeting"]) == (False, None)
    [stored] = [e for e in control.events(ADELE) if e.id == event["id"]]
    assert (stored.is_online_meeting, stored.join_url) == (False, "")


def test_a_patch_that_keeps_the_blob_or_leaves_the_body_out_keeps_the_meeting(graph):
    event = _teams_meeting(graph)
    join_url = event["onlineMeeting"]["joinUrl"]
    moved = graph(
        "PATCH",
        f"/me/events/{event['id']}",
        json={
            "start": {"dateTime": "2030-03-05T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-03-05T14:30:00", "timeZone": "UTC"},
        },
    ).json()
    assert moved["onlineMeeting"] == {"joinUrl": join_url}
    assert moved["body"] == event["body"]
    # The documented way: get the body, change its content, keep the blob.
    current = graph("GET", f"/me/events/{event['id']}?$select=body").json()["body"]["content"]
    changed = current.replace("Booked through ScheduleOnce.", "Moved to Thursday.")
    patched = graph(
        "PATCH",
        f"/me/events/{event['id']}",
        json={"body": {"contentType": "html", "content": changed}},
    ).json()
    assert patched["isOnlineMeeting"] is True
    assert patched["onlineMeeting"] == {"joinUrl": join_url}
    assert "Moved to Thursday." in patched["body"]["content"]


def test_a_calendar_lists_the_online_meeting_providers_it_allows(graph):
    # Microsoft: look at allowedOnlineMeetingProviders and defaultOnlineMeetingProvider,
    # and ask for a provider the calendar supports.
    calendars = graph("GET", "/me/calendars").json()["value"]
    own = [c for c in calendars if c["owner"]["address"].lower() == ADELE]
    assert own
    assert all(c["allowedOnlineMeetingProviders"] == ["teamsForBusiness"] for c in own)
    assert all(c["defaultOnlineMeetingProvider"] == "teamsForBusiness" for c in own)


def test_a_calendar_without_teams_gives_an_online_meeting_no_join_url(graph):
    # A personal Microsoft account's calendar does not allow teamsForBusiness.
    control.mailbox_online_meeting_providers_set(ADELE, ["skypeForConsumer"])
    calendar = next(
        c for c in graph("GET", "/me/calendars").json()["value"] if c["isDefaultCalendar"]
    )
    assert calendar["allowedOnlineMeetingProviders"] == ["skypeForConsumer"]
    assert calendar["defaultOnlineMeetingProvider"] == "skypeForConsumer"
    event = graph(
        "POST",
        "/me/events",
        json=booking(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness"),
    ).json()
    assert (event["isOnlineMeeting"], event["onlineMeetingProvider"]) == (False, "unknown")
    assert event["onlineMeeting"] is None
    patched = graph(
        "PATCH",
        f"/me/events/{event['id']}",
        json={"isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"},
    ).json()
    assert patched["onlineMeeting"] is None
    # The calendar's own provider is made as asked.
    own = graph(
        "POST",
        "/me/events",
        json=booking(isOnlineMeeting=True, onlineMeetingProvider="skypeForConsumer"),
    ).json()
    assert own["onlineMeetingProvider"] == "skypeForConsumer"
    assert own["onlineMeeting"]["joinUrl"].startswith("http")


def test_no_reminder(graph):
    event = graph("POST", "/me/events", json=booking(isReminderOn=False)).json()
    assert event["isReminderOn"] is False
    (stored,) = [e for e in control.events(ADELE) if e.id == event["id"]]
    assert stored.is_reminder_on is False


def test_patch_changes_only_what_it_sends(graph):
    created = graph("POST", "/me/events", json=booking()).json()
    patched = graph(
        "PATCH",
        f"/me/events/{created['id']}",
        json={
            "start": {"dateTime": "2030-03-05T14:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-03-05T14:30:00", "timeZone": "UTC"},
        },
    )
    assert patched.status_code == 200
    event = patched.json()
    assert event["start"]["dateTime"] == "2030-03-05T14:00:00.0000000"
    assert event["subject"] == created["subject"]
    assert event["reminderMinutesBeforeStart"] == 30
    assert event["changeKey"] != created["changeKey"]
    assert event["transactionId"] == created["transactionId"]


def test_delete_answers_204_and_the_event_is_gone(graph):
    created = graph("POST", "/me/events", json=booking()).json()
    assert graph("DELETE", f"/me/events/{created['id']}").status_code == 204
    assert graph("GET", f"/me/events/{created['id']}").status_code == 404
    assert graph("DELETE", f"/me/events/{created['id']}").status_code == 404
    assert created["id"] not in {e.id for e in control.events(ADELE)}


def test_writing_to_a_calendar_without_can_edit_is_403(graph):
    room = calendar_ids(graph)["Conference Room Rainier"]
    response = graph("POST", f"/me/calendars/{room}/events", json=booking())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ErrorAccessDenied"
    assert control.events(ROOM, calendar="Calendar")[0].subject == "Design review"  # seeded only


def test_writing_to_a_shared_calendar_puts_the_event_in_the_owners_mailbox(graph):
    shared = calendar_ids(graph)["Megan Bowen"]
    event = graph("POST", f"/me/calendars/{shared}/events", json=booking()).json()
    assert event["organizer"]["emailAddress"]["address"] == MEGAN
    assert event["id"] in {e.id for e in control.events(MEGAN)}
    # /me/events reaches only the signed-in user's own mailbox.
    assert graph("GET", f"/me/events/{event['id']}").status_code == 404
    assert graph("GET", f"/me/calendars/{shared}/events/{event['id']}").status_code == 200


def test_me_events_and_me_calendar_events_use_the_default_calendar(graph):
    for path in ("/me/events", "/me/calendar/events"):
        event = graph("POST", path, json=booking()).json()
        (stored,) = [e for e in control.events(ADELE) if e.id == event["id"]]
        assert stored.calendar == "Calendar"


def test_any_windows_time_zone_name_is_taken(graph):
    # dateTimeTimeZone: "any of the time zones supported by Windows", not only common ones.
    body = booking()
    body["start"] = {"dateTime": "2030-03-04T15:30:00", "timeZone": "Sri Lanka Standard Time"}
    body["end"] = {"dateTime": "2030-03-04T16:00:00", "timeZone": "Sri Lanka Standard Time"}
    made = graph("POST", "/me/events", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["originalStartTimeZone"] == "Sri Lanka Standard Time"
    assert made.json()["start"] == {"dateTime": "2030-03-04T10:00:00.0000000", "timeZone": "UTC"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            {"start": {"dateTime": "2030-03-04T10:00:00", "timeZone": "Mars/Olympus"}},
            "TimeZoneNotSupportedException",
        ),
        ({"start": {"dateTime": "next tuesday", "timeZone": "UTC"}}, "UnableToDeserializePostBody"),
        (
            {"end": {"dateTime": "2030-03-04T08:00:00", "timeZone": "UTC"}},
            "ErrorCalendarEndDateIsEarlierThanStartDate",
        ),
        ({"showAs": "sleeping"}, "RequestBodyRead"),
        ({"reminderMinutesBeforeStart": "soon"}, "RequestBodyRead"),
        ({"colour": "red"}, "RequestBodyRead"),
        ({"attendees": [{"emailAddress": {}}]}, "ErrorInvalidRecipients"),
    ],
)
def test_bad_bodies_are_400_with_graphs_codes(graph, change, code):
    response = graph("POST", "/me/events", json=booking(**change))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_a_create_with_a_bad_select_is_refused_before_anything_is_made(graph):
    calendar = calendar_ids(graph)["Calendar"]
    before = len(control.events(ADELE))
    response = graph("POST", f"/me/calendars/{calendar}/events?$select=id,joinUrl", json=booking())
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "RequestBroker--ParseUri"
    assert len(control.events(ADELE)) == before


def test_a_body_that_is_not_json_is_400(graph):
    response = graph(
        "POST", "/me/events", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_the_transaction_id_cannot_be_changed(graph):
    created = graph("POST", "/me/events", json=booking()).json()
    response = graph("PATCH", f"/me/events/{created['id']}", json={"transactionId": "other"})
    assert response.status_code == 400


def test_the_events_of_a_calendar_are_listed_page_by_page(graph):
    personal = calendar_ids(graph)["Personal"]
    made = [
        graph("POST", f"/me/calendars/{personal}/events", json=booking(subject=f"Call {i}")).json()
        for i in range(3)
    ]
    first = graph("GET", f"/me/calendars/{personal}/events?$top=2").json()
    rest = graph("GET", first["@odata.nextLink"]).json()
    listed = [e["id"] for e in first["value"] + rest["value"]]
    seeded = [e.id for e in control.events(ADELE, calendar="Personal")]
    assert set(listed) == set(seeded)
    assert {e["id"] for e in made} <= set(listed)
    assert "@odata.nextLink" not in rest


def test_the_events_of_a_calendar_can_be_listed_in_an_order(graph):
    personal = calendar_ids(graph)["Personal"]
    for subject in ("Bravo", "Alpha", "Charlie"):
        graph("POST", f"/me/calendars/{personal}/events", json=booking(subject=subject))
    listed = graph("GET", f"/me/calendars/{personal}/events?$orderby=subject desc&$top=100")
    assert listed.status_code == 200, listed.text
    subjects = [e["subject"] for e in listed.json()["value"]]
    assert subjects == sorted(subjects, reverse=True)
    assert {"Alpha", "Bravo", "Charlie"} <= set(subjects)
