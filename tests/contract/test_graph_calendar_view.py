"""``calendarView`` and its delta form.

From Microsoft Graph v1.0: "List calendarView", "event: delta", "Get incremental
changes to events in a calendar view", "Paging Microsoft Graph data", and the
``outlook.timezone`` preference.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN

pytestmark = [pytest.mark.slow]

DAY = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday, away from the seeded events
WINDOW = "startDateTime=2030-01-07T00:00:00Z&endDateTime=2030-01-08T00:00:00Z"
GRAPH_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


def add(
    subject: str, hour: float, minutes: int = 30, *, who: str = ADELE, calendar=None, show_as="busy"
):
    start = DAY + timedelta(hours=hour)
    return control.event_add(
        who,
        subject=subject,
        start=start,
        end=start + timedelta(minutes=minutes),
        show_as=show_as,
        calendar=calendar,
    )


def calendar_ids(graph, who: str = ADELE) -> dict[str, str]:
    return {c["name"]: c["id"] for c in graph("GET", "/me/calendars", as_=who).json()["value"]}


def view(graph, calendar_id: str, query: str = WINDOW, **kwargs):
    return graph("GET", f"/me/calendars/{calendar_id}/calendarView?{query}", **kwargs)


def follow(graph, url: str, key: str = "@odata.nextLink", **kwargs) -> tuple[list[dict], dict]:
    """Follow ``@odata.nextLink`` to the end: (all items, last page)."""
    items: list[dict] = []
    while True:
        response = graph("GET", url, **kwargs)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["value"])
        if key not in page:
            return items, page
        url = page[key]


def test_calendar_view_returns_events_overlapping_the_window(graph):
    add("Before", -2, 60)  # 22:00-23:00 the day before: outside
    add("Overlaps start", -0.5, 60)
    add("Inside", 9)
    add("Overlaps end", 23.5, 60)
    add("After", 25)
    ids = calendar_ids(graph)
    response = view(graph, ids["Calendar"])
    assert response.status_code == 200
    subjects = [e["subject"] for e in response.json()["value"]]
    assert subjects == ["Overlaps start", "Inside", "Overlaps end"]


def test_times_are_graph_date_times_in_utc_by_default(graph):
    add("Stand-up", 9, 15)
    (event,) = view(graph, calendar_ids(graph)["Calendar"]).json()["value"]
    assert event["start"] == {"dateTime": "2030-01-07T09:00:00.0000000", "timeZone": "UTC"}
    assert event["end"] == {"dateTime": "2030-01-07T09:15:00.0000000", "timeZone": "UTC"}
    assert GRAPH_DATETIME.match(event["start"]["dateTime"])
    for field in ("id", "subject", "showAs", "isCancelled", "isAllDay", "type", "organizer"):
        assert field in event
    assert event["showAs"] == "busy"
    assert event["isCancelled"] is False
    assert event["type"] == "singleInstance"


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Pacific Standard Time", "2030-01-07T01:00:00.0000000"),
        ("Europe/Berlin", "2030-01-07T10:00:00.0000000"),
    ],
)
def test_prefer_outlook_timezone_changes_only_the_times_in_the_answer(graph, zone, start):
    add("Stand-up", 9, 15)
    response = view(
        graph, calendar_ids(graph)["Calendar"], headers={"Prefer": f'outlook.timezone="{zone}"'}
    )
    (event,) = response.json()["value"]
    assert event["start"] == {"dateTime": start, "timeZone": zone}
    assert response.headers["Preference-Applied"] == f'outlook.timezone="{zone}"'


def test_an_event_made_in_a_legacy_custom_zone_still_comes_in_the_asked_zone(graph):
    # Microsoft's event resource: originalStartTimeZone "tzone://Microsoft/Custom"
    # "indicates that a legacy custom time zone was set in desktop Outlook"; start and end
    # come in the zone Prefer: outlook.timezone asks for, UTC when none is.
    start = DAY + timedelta(hours=9)
    control.event_add(
        ADELE,
        subject="Made abroad",
        start=start,
        end=start + timedelta(minutes=30),
        time_zone="tzone://Microsoft/Custom",
    )
    calendar = calendar_ids(graph)["Calendar"]
    (event,) = view(graph, calendar).json()["value"]
    assert event["originalStartTimeZone"] == "tzone://Microsoft/Custom"
    assert event["start"] == {"dateTime": "2030-01-07T09:00:00.0000000", "timeZone": "UTC"}
    asked = {"Prefer": 'outlook.timezone="Pacific Standard Time"'}
    (event,) = view(graph, calendar, headers=asked).json()["value"]
    assert event["start"] == {
        "dateTime": "2030-01-07T01:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }


@pytest.mark.parametrize("zone", ["UTC", "Pacific Standard Time"])
def test_an_all_day_events_days_are_not_converted_to_the_asked_zone(graph, zone):
    # Microsoft's answer on Q&A ("all day events are not obeying Prefer: outlook.timezone",
    # by design): the midnights of the event's own days, named with the asked zone.
    control.mailbox_time_zone_set(MEGAN, "America/New_York")
    local = datetime(2030, 1, 7, tzinfo=ZoneInfo("America/New_York"))
    made = control.event_add(
        MEGAN,
        subject="Day off",
        start=local,
        end=local + timedelta(days=1),
        show_as="oof",
        all_day=True,
    )
    response = view(
        graph,
        calendar_ids(graph, MEGAN)["Calendar"],
        as_=MEGAN,
        headers={"Prefer": f'outlook.timezone="{zone}"'},
    )
    [event] = [e for e in response.json()["value"] if e["id"] == made.id]
    assert event["isAllDay"] is True
    assert event["start"] == {"dateTime": "2030-01-07T00:00:00.0000000", "timeZone": zone}
    assert event["end"] == {"dateTime": "2030-01-08T00:00:00.0000000", "timeZone": zone}


def test_the_window_is_read_with_its_offset(graph):
    add("Nine UTC", 9, 15)
    ids = calendar_ids(graph)
    query = "startDateTime=2030-01-07T10:30:00%2B02:00&endDateTime=2030-01-07T11:30:00%2B02:00"
    assert [e["subject"] for e in view(graph, ids["Calendar"], query).json()["value"]] == [
        "Nine UTC"
    ]


def test_the_window_is_required(graph):
    response = graph("GET", f"/me/calendars/{calendar_ids(graph)['Calendar']}/calendarView")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidParameter"


def test_the_window_parameters_are_read_whatever_their_case(graph):
    # Microsoft's own delta example spells them "startdatetime" and "enddatetime".
    add("Stand-up", 9, 15)
    calendar = calendar_ids(graph)["Calendar"]
    lower = "startdatetime=2030-01-07T00:00:00Z&enddatetime=2030-01-08T00:00:00Z"
    response = view(graph, calendar, lower)
    assert response.status_code == 200, response.text
    assert [e["subject"] for e in response.json()["value"]] == ["Stand-up"]
    items, _ = follow(
        graph, f"/me/calendars/{calendar}/calendarView/delta?{lower}", key="@odata.nextLink"
    )
    assert [e["subject"] for e in items] == ["Stand-up"]


def test_a_malformed_window_names_the_parameter_and_value_at_fault(graph):
    calendar = calendar_ids(graph)["Calendar"]
    # An unencoded "+" in the offset arrives as a space.
    query = "startDateTime=2030-01-07T00:00:00Z&endDateTime=2030-01-08T00:00:00+02:00"
    response = view(graph, calendar, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ErrorInvalidParameter"
    assert error["message"] == (
        "The value '2030-01-08T00:00:00 02:00' of parameter 'EndDateTime' is invalid."
    )


def test_windows_and_skips_beyond_what_the_store_holds_are_400(graph):
    calendar = calendar_ids(graph)["Calendar"]
    before_year_1 = "startDateTime=0001-01-01T00:00:00%2B09:00&endDateTime=2030-01-01T00:00:00Z"
    assert view(graph, calendar, before_year_1).status_code == 400
    assert view(graph, calendar, WINDOW + "&$skip=" + "9" * 25).status_code == 400
    # Digits Python's isdigit() accepts but int() cannot read ("²") are 400 too, not 500.
    assert view(graph, calendar, WINDOW + "&$skip=%C2%B2").status_code == 400
    assert view(graph, calendar, WINDOW + "&$top=%C2%B2").status_code == 400


def test_pages_follow_next_link_until_every_event_was_seen(graph):
    for i in range(25):
        add(f"Event {i:02}", i * 0.5, 20)
    calendar = calendar_ids(graph)["Calendar"]
    first = view(graph, calendar).json()
    assert len(first["value"]) == 10  # Outlook's default page size
    items, _ = follow(graph, first["@odata.nextLink"])
    subjects = [e["subject"] for e in first["value"] + items]
    assert subjects == [f"Event {i:02}" for i in range(25)]
    query = parse_qs(urlsplit(first["@odata.nextLink"]).query)
    assert query["startDateTime"] == ["2030-01-07T00:00:00Z"]
    assert query["endDateTime"] == ["2030-01-08T00:00:00Z"]


def test_top_sets_the_page_size_and_select_the_properties(graph):
    for i in range(5):
        add(f"Event {i}", i)
    calendar = calendar_ids(graph)["Calendar"]
    page = view(graph, calendar, WINDOW + "&$top=2&$select=subject,start").json()
    assert len(page["value"]) == 2
    assert {k for k in page["value"][0] if not k.startswith("@")} == {"id", "subject", "start"}
    items, _ = follow(graph, page["@odata.nextLink"])
    assert len(items) == 3
    assert all(set(e) - {"@odata.etag"} == {"id", "subject", "start"} for e in items)


def test_select_of_a_property_events_do_not_have_is_400(graph):
    add("Stand-up", 9, 15)
    response = view(graph, calendar_ids(graph)["Calendar"], WINDOW + "&$select=id,start,showsAs")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "RequestBroker--ParseUri"
    assert error["message"] == (
        "Could not find a property named 'showsAs' on type 'Microsoft.OutlookServices.Event'."
    )
    # Every documented property may be selected, in any case, even when it is empty.
    query = WINDOW + "&$select=originalStart,Recurrence,webLink,transactionId,showAs"
    assert view(graph, calendar_ids(graph)["Calendar"], query).status_code == 200


def test_orderby_sorts_the_view_across_pages(graph):
    # Microsoft's own tutorials read the calendar view with $orderby=start/dateTime.
    add("Early", 8)
    add("Late", 15)
    add("Middle", 11)
    calendar = calendar_ids(graph)["Calendar"]
    response = view(graph, calendar, WINDOW + "&$orderby=start/dateTime")
    assert response.status_code == 200, response.text
    assert [e["subject"] for e in response.json()["value"]] == ["Early", "Middle", "Late"]
    first = view(graph, calendar, WINDOW + "&$orderby=start/dateTime desc&$top=2").json()
    rest, _ = follow(graph, first["@odata.nextLink"])
    assert [e["subject"] for e in first["value"] + rest] == ["Late", "Middle", "Early"]
    by_subject = view(graph, calendar, WINDOW + "&$orderby=subject").json()["value"]
    assert [e["subject"] for e in by_subject] == ["Early", "Late", "Middle"]


def test_orderby_a_property_events_do_not_have_is_400(graph):
    response = view(graph, calendar_ids(graph)["Calendar"], WINDOW + "&$orderby=startTime")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "RequestBroker--ParseUri"


def test_shared_and_room_calendars_show_their_owners_events(graph):
    add("Megan's call", 11, who=MEGAN)
    ids = calendar_ids(graph)
    assert [e["subject"] for e in view(graph, ids["Megan Bowen"]).json()["value"]] == [
        "Megan's call"
    ]
    assert view(graph, ids["Conference Room Rainier"]).json()["value"] == []


def test_delta_first_round_then_changes_with_removed(graph):
    stays = add("Stays", 9)
    changes = add("Changes", 10)
    goes = add("Goes", 11)
    leaves = add("Leaves the window", 12)
    calendar = calendar_ids(graph)["Calendar"]
    first = graph("GET", f"/me/calendars/{calendar}/calendarView/delta?{WINDOW}")
    assert first.status_code == 200
    items, last = follow(graph, first.url, key="@odata.nextLink")
    assert sorted(e["subject"] for e in items) == ["Changes", "Goes", "Leaves the window", "Stays"]
    delta_link = last["@odata.deltaLink"]
    assert "$deltatoken=" in delta_link

    nothing, last = follow(graph, delta_link)
    assert nothing == []
    delta_link = last["@odata.deltaLink"]

    ids = {e["subject"]: e["id"] for e in items}
    assert (
        graph("PATCH", f"/me/events/{ids['Changes']}", json={"subject": "Changed"}).status_code
        == 200
    )
    assert graph("DELETE", f"/me/events/{ids['Goes']}").status_code == 204
    moved = {
        "start": {"dateTime": "2030-02-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2030-02-01T10:00:00", "timeZone": "UTC"},
    }
    assert graph("PATCH", f"/me/events/{ids['Leaves the window']}", json=moved).status_code == 200
    new = add("New", 13)

    changed, last = follow(graph, delta_link)
    by_id = {e["id"]: e for e in changed}
    assert by_id[changes.id]["subject"] == "Changed"
    assert by_id[goes.id] == {
        "@odata.type": "#microsoft.graph.event",
        "id": goes.id,
        "@removed": {"reason": "deleted"},
    }
    assert by_id[leaves.id]["@removed"] == {"reason": "deleted"}
    assert by_id[new.id]["subject"] == "New"
    assert stays.id not in by_id
    assert "@odata.deltaLink" in last


def test_delta_pages_with_maxpagesize(graph):
    for i in range(7):
        add(f"Event {i}", i)
    calendar = calendar_ids(graph)["Calendar"]
    headers = {"Prefer": "odata.maxpagesize=3"}
    first = graph(
        "GET", f"/me/calendars/{calendar}/calendarView/delta?{WINDOW}", headers=headers
    ).json()
    assert len(first["value"]) == 3
    assert "$skiptoken=" in first["@odata.nextLink"]
    rest, last = follow(graph, first["@odata.nextLink"], headers=headers)
    assert len(first["value"] + rest) == 7
    assert "@odata.deltaLink" in last


def test_delta_refuses_select_filter_and_orderby(graph):
    calendar = calendar_ids(graph)["Calendar"]
    response = graph("GET", f"/me/calendars/{calendar}/calendarView/delta?{WINDOW}&$select=subject")
    assert response.status_code == 400
    assert "$select" in response.json()["error"]["message"]


def test_a_stale_delta_link_asks_for_a_full_resync(graph):
    calendar = calendar_ids(graph)["Calendar"]
    _, last = follow(graph, f"/me/calendars/{calendar}/calendarView/delta?{WINDOW}")
    control.delta_links_expire()
    response = graph("GET", last["@odata.deltaLink"])
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "SyncStateNotFound"
    tampered = graph("GET", f"/me/calendars/{calendar}/calendarView/delta?$deltatoken=forged")
    assert tampered.status_code == 410


def test_an_expired_delta_token_can_answer_400_sync_state_not_found(graph):
    # "Use delta query", Token duration: an expired Outlook delta token draws "a 40X-series
    # error with error codes such as syncStateNotFound", not only 410.
    calendar = calendar_ids(graph)["Calendar"]
    _, last = follow(graph, f"/me/calendars/{calendar}/calendarView/delta?{WINDOW}")
    control.delta_links_expire(status=400)
    response = graph("GET", last["@odata.deltaLink"])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "syncStateNotFound"
