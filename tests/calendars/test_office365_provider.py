"""The Office 365 provider's Graph calls: calendars, busy time and events, in Graph's shapes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import responses

from calendars.events import EventDescription
from calendars.providers import ProviderError, get_provider
from calendars.providers.base import Account, EventGone
from tests.support.events import INTRO_CALL
from tests.support.microsoft import GRAPH, GRAPH_404, FakeMicrosoft

TOKEN = "access-token-for-tests"
EVENT = replace(
    INTRO_CALL, body_text="Booked through ScheduleOnce.", location="Online", online_meeting=True
)


@pytest.fixture
def provider():
    return get_provider("office365")


@pytest.fixture
def graph(microsoft_settings):
    with responses.RequestsMock() as mock:
        yield mock


def test_only_owned_writable_calendars_are_offered(provider, graph):
    fake = FakeMicrosoft.__new__(FakeMicrosoft)
    fake.email = "alice@contoso.com"
    graph.get(f"{GRAPH}/me/calendars", json={"value": fake.calendars()})
    account = Account(
        account_id="x", email="Alice@Contoso.com", addresses=frozenset({"alice@contoso.com"})
    )
    listed = provider.list_calendars(access_token=TOKEN, account=account)
    assert [c.name for c in listed.owned] == ["Calendar", "Client work"]
    assert [c.is_default for c in listed.owned] == [True, False]
    assert listed.owned[1].color == "#127a3a"
    assert [c.name for c in listed.skipped] == ["Bob's calendar", "Room 4.12"]


@pytest.mark.parametrize(
    ("allowed", "online"),
    [
        (["teamsForBusiness", "skypeForBusiness"], True),
        (["skypeForConsumer"], False),  # a personal Microsoft account's calendar
        ([], False),
    ],
)
def test_a_calendar_makes_teams_meetings_only_if_it_allows_teams_for_business(
    provider, graph, allowed, online
):
    fake = FakeMicrosoft.__new__(FakeMicrosoft)
    fake.email = "alice@contoso.com"
    [own, *_others] = fake.calendars()
    own = {**own, "allowedOnlineMeetingProviders": allowed}
    own["defaultOnlineMeetingProvider"] = allowed[0] if allowed else "unknown"
    graph.get(f"{GRAPH}/me/calendars", json={"value": [own]})
    account = Account(account_id="x", email="alice@contoso.com")
    [listed] = provider.list_calendars(access_token=TOKEN, account=account).owned
    assert listed.online_meetings is online


def test_an_account_without_mail_is_known_by_its_user_principal_name(provider, graph):
    # Graph's user resource: "mail" may be null; "userPrincipalName" always names the user.
    graph.get(
        f"{GRAPH}/me",
        json={
            "@odata.context": f"{GRAPH}/$metadata#users(id,displayName,mail,userPrincipalName)"
            "/$entity",
            "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
            "displayName": "Alice Host",
            "mail": None,
            "userPrincipalName": "Alice@contoso.onmicrosoft.com",
        },
    )
    account = provider.account(access_token=TOKEN)
    assert account.email == "Alice@contoso.onmicrosoft.com"
    assert account.addresses == {"alice@contoso.onmicrosoft.com"}
    own = {
        "id": "AAMkADefault=",
        "name": "Calendar",
        "canEdit": True,
        "canShare": True,
        "isDefaultCalendar": True,
        "owner": {"name": "Alice Host", "address": "alice@contoso.onmicrosoft.com"},
    }
    delegated = {
        **own,
        "id": "AAMkADboss=",
        "name": "Calendar",
        "canShare": False,
        "isDefaultCalendar": False,
        "owner": {"name": "Bob Boss", "address": "bob@contoso.onmicrosoft.com"},
    }
    graph.get(f"{GRAPH}/me/calendars", json={"value": [own, delegated]})
    listed = provider.list_calendars(access_token=TOKEN, account=account)
    assert [c.remote_id for c in listed.owned] == ["AAMkADefault="]
    assert [c.remote_id for c in listed.skipped] == ["AAMkADboss="]


def test_own_calendars_are_offered_when_owner_names_another_address_or_is_absent(provider, graph):
    # Graph's calendar resource: "owner: If set, ..."; "Only the user who created the
    # calendar can share it" (canShare). A personal Microsoft account that signs in with
    # another provider's address sees its calendars owned by its outlook.com alias.
    account = Account(
        account_id="x", email="sam@example.net", addresses=frozenset({"sam@example.net"})
    )
    alias = {"name": "Sam", "address": "outlook_5F3A9C21D0B4E7A1@outlook.com"}

    def calendar(cid, name, **fields):
        return {
            "id": cid,
            "name": name,
            "color": "auto",
            "hexColor": "",
            "changeKey": "nfZyf7VcrEKLNoU37KWlkQAAA0x0+w==",
            "canShare": True,
            "canViewPrivateItems": True,
            "canEdit": True,
            "isDefaultCalendar": False,
            "isRemovable": True,
            "allowedOnlineMeetingProviders": ["skypeForConsumer"],
            "defaultOnlineMeetingProvider": "skypeForConsumer",
            "owner": alias,
            **fields,
        }

    graph.get(
        f"{GRAPH}/me/calendars",
        json={
            "value": [
                calendar("AAMkADefault=", "Calendar", isDefaultCalendar=True, isRemovable=False),
                calendar("AAMkADfamily=", "Family"),
                calendar("AAMkADnoowner=", "Trips", owner=None),
                calendar(
                    "AAMkADshared=",
                    "Kim's calendar",
                    canShare=False,
                    canViewPrivateItems=False,
                    owner={"name": "Kim", "address": "kim@example.org"},
                ),
                calendar("AAMkADbirthdays=", "Birthdays", canEdit=False, canShare=False),
            ]
        },
    )
    listed = provider.list_calendars(access_token=TOKEN, account=account)
    assert [c.name for c in listed.owned] == ["Calendar", "Family", "Trips"]
    assert [c.name for c in listed.skipped] == ["Kim's calendar", "Birthdays"]


def test_create_sends_the_event_reminder_and_transaction_id(provider, graph):
    graph.post(
        f"{GRAPH}/me/calendars/AAMkADwork%3D/events",
        status=201,
        json={"id": "AAMkEvent1", "onlineMeeting": {"joinUrl": "https://teams.example/l/1"}},
    )
    created = provider.create_event(
        access_token=TOKEN,
        calendar_id="AAMkADwork=",
        event=EVENT,
        reminder_minutes=30,
        transaction_id="5a0e1a8e-7d1c-4f55-9a43-0c2b1d9e8f70",
    )
    assert created.remote_id == "AAMkEvent1"
    assert created.online_meeting_url == "https://teams.example/l/1"
    body = json.loads(graph.calls[0].request.body)
    assert body == {
        "subject": "Intro call with Dana",
        "body": {"contentType": "text", "content": "Booked through ScheduleOnce."},
        # Wall time in the event's own zone, named the Windows way (London is on GMT then).
        "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "GMT Standard Time"},
        "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "GMT Standard Time"},
        "location": {"displayName": "Online"},
        "attendees": [
            {"emailAddress": {"address": "dana@example.com", "name": "Dana"}, "type": "required"}
        ],
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 30,
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
        "transactionId": "5a0e1a8e-7d1c-4f55-9a43-0c2b1d9e8f70",
    }


def test_no_reminder_turns_the_reminder_off_and_update_never_sends_a_transaction_id(
    provider, graph
):
    # An online meeting's body is read first (graph.online_body): this one has no meeting.
    graph.get(f"{GRAPH}/me/events/AAMkEvent1", json={"id": "AAMkEvent1", "onlineMeeting": None})
    graph.patch(f"{GRAPH}/me/events/AAMkEvent1", json={"id": "AAMkEvent1"})
    provider.update_event(
        access_token=TOKEN,
        calendar_id="AAMkADwork=",
        remote_id="AAMkEvent1",
        event=EVENT,
        reminder_minutes=None,
    )
    body = json.loads(graph.calls[-1].request.body)
    assert (body["isReminderOn"], body["reminderMinutesBeforeStart"]) == (False, 0)
    assert "transactionId" not in body


def test_updating_a_vanished_event_says_so(provider, graph):
    graph.get(f"{GRAPH}/me/events/AAMkGone", status=404, json=GRAPH_404)
    with pytest.raises(ProviderError) as caught:
        provider.update_event(
            access_token=TOKEN,
            calendar_id="AAMkADwork=",
            remote_id="AAMkGone",
            event=EVENT,
            reminder_minutes=15,
        )
    assert caught.value.status == 404
    assert isinstance(caught.value, EventGone)


def test_deleting_is_done_even_when_the_event_is_already_gone(provider, graph):
    graph.delete(f"{GRAPH}/me/events/AAMkEvent1", status=204)
    graph.delete(f"{GRAPH}/me/events/AAMkGone", status=404, json=GRAPH_404)
    provider.delete_event(access_token=TOKEN, calendar_id="AAMkADwork=", remote_id="AAMkEvent1")
    provider.delete_event(access_token=TOKEN, calendar_id="AAMkADwork=", remote_id="AAMkGone")


def _event(eid, start, end, show_as="busy"):
    return {
        "id": eid,
        "showAs": show_as,
        "isCancelled": False,
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
    }


def test_busy_changes_read_every_page_of_the_calendar_view(provider, graph):
    view = f"{GRAPH}/me/calendars/AAMkADwork%3D/calendarView/delta"
    graph.get(
        view,
        json={
            "value": [_event("e1", "2026-01-05T09:00:00.0000000", "2026-01-05T09:30:00.0000000")],
            "@odata.nextLink": f"{view}?$skiptoken=2",
        },
    )
    graph.get(
        f"{view}?$skiptoken=2",
        json={
            "value": [
                _event("e2", "2026-01-06T13:00:00.0000000", "2026-01-06T14:15:30.1234567", "oof")
            ],
            "@odata.deltaLink": f"{view}?$deltatoken=d1",
        },
    )
    events = provider.busy_changes(
        access_token=TOKEN,
        calendar_id="AAMkADwork=",
        start=datetime(2026, 1, 5, tzinfo=UTC),
        end=datetime(2026, 1, 12, tzinfo=UTC),
    ).events
    assert [(e.remote_id, e.start, e.end, e.availability) for e in events] == [
        (
            "e1",
            datetime(2026, 1, 5, 9, tzinfo=UTC),
            datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
            "busy",
        ),
        (
            "e2",
            datetime(2026, 1, 6, 13, tzinfo=UTC),
            datetime(2026, 1, 6, 14, 15, 30, 123456, tzinfo=UTC),
            "oof",
        ),
    ]
    first = graph.calls[0].request
    assert "startDateTime=2026-01-05T00%3A00%3A00Z" in first.url
    assert first.headers["Prefer"].startswith('outlook.timezone="UTC"')


def test_busy_changes_follow_the_delta_to_its_delta_link(provider, graph):
    delta = f"{GRAPH}/me/calendars/AAMkADwork%3D/calendarView/delta"
    graph.get(
        delta,
        json={
            "value": [_event("e1", "2026-01-05T09:00:00.0000000", "2026-01-05T09:30:00.0000000")],
            "@odata.nextLink": f"{delta}?$skiptoken=p2",
        },
    )
    graph.get(
        f"{delta}?$skiptoken=p2",
        json={
            "value": [{"id": "e0", "@removed": {"reason": "deleted"}}],
            "@odata.deltaLink": f"{delta}?$deltatoken=d1",
        },
    )
    graph.get(
        f"{delta}?$deltatoken=d1", json={"value": [], "@odata.deltaLink": f"{delta}?$deltatoken=d2"}
    )
    window = {"start": datetime(2026, 1, 5, tzinfo=UTC), "end": datetime(2026, 2, 5, tzinfo=UTC)}
    changes = provider.busy_changes(access_token=TOKEN, calendar_id="AAMkADwork=", **window)
    assert [e.remote_id for e in changes.events] == ["e1"]
    assert changes.removed_ids == ["e0"]
    assert changes.delta_link.endswith("$deltatoken=d1")
    later = provider.busy_changes(
        access_token=TOKEN, calendar_id="AAMkADwork=", delta_link=changes.delta_link, **window
    )
    assert (later.events, later.removed_ids) == ([], [])
    assert later.delta_link.endswith("$deltatoken=d2")


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # Wall time in the event's zone, with the Windows name Graph knows for it.
        (
            "America/New_York",
            "2026-07-01T13:00:00+00:00",
            ("2026-07-01T09:00:00", "Eastern Standard Time"),
        ),
        (
            "Asia/Kolkata",
            "2026-07-01T13:00:00+00:00",
            ("2026-07-01T18:30:00", "India Standard Time"),
        ),
        # No Windows name known: UTC, which every Graph method accepts.
        ("Pacific/Chatham", "2026-07-01T13:00:00+00:00", ("2026-07-01T13:00:00", "UTC")),
        # 01:30 happens twice in London that night: a zone name alone would be ambiguous.
        ("Europe/London", "2026-10-25T00:30:00+00:00", ("2026-10-25T00:30:00", "UTC")),
    ],
)
def test_events_are_sent_in_their_own_time_zone_when_graph_can_read_it(zone, start, expected):
    from calendars.providers.office365.payloads import event_body

    begins = datetime.fromisoformat(start)
    event = EventDescription(
        subject="x", start=begins, end=begins.replace(hour=begins.hour + 1), time_zone=zone
    )
    body = event_body(event, reminder_minutes=None)
    assert (body["start"]["dateTime"], body["start"]["timeZone"]) == expected


def test_every_windows_zone_name_we_send_names_the_same_instant():
    """Checked against the Graph sandbox's reading of Windows names (CLDR's mapping)."""
    from calendars.providers.office365.payloads import graph_local_time
    from calendars.providers.office365.zones import IANA_TO_WINDOWS
    from graph_sandbox.timefmt import parse_date_time_time_zone

    for instant in (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC)):
        for iana in IANA_TO_WINDOWS:
            sent = graph_local_time(instant, iana)
            assert parse_date_time_time_zone(sent)[0] == instant, (iana, sent)
