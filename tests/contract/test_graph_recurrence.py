"""Recurring series: created with ``recurrence``, expanded by ``calendarView``.

From Microsoft Graph v1.0: "patternedRecurrence", "recurrencePattern" (daily, weekly
with ``daysOfWeek`` and ``firstDayOfWeek``, absoluteMonthly, relativeMonthly with
``index``, absoluteYearly, relativeYearly; ``interval``), "recurrenceRange" (endDate,
noEnd, numbered; ``recurrenceTimeZone``), "event" (``type``: singleInstance,
occurrence, exception, seriesMaster; ``seriesMasterId``), "List calendarView" (series
come expanded), "List instances", "Update event" and "Delete event" of an occurrence.
"""

from __future__ import annotations

from datetime import date

import pytest

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN
from tests.contract.subscribing import subscribe
from tests.contract.test_graph_calendar_view import follow

pytestmark = [pytest.mark.slow]

# Europe/London leaves GMT for BST on Sunday 31 March 2030.
SPRING = "startDateTime=2030-03-11T00:00:00Z&endDateTime=2030-04-15T00:00:00Z"


def weekly(days=("monday",), **pattern) -> dict:
    return {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": list(days), **pattern},
        "range": {"type": "noEnd", "startDate": "2030-03-18"},
    }


def series(recurrence: dict | None = None, *, start="2030-03-18T09:00:00", minutes=15, **extra):
    end_minute = minutes % 60
    end = start[:11] + f"{int(start[11:13]) + minutes // 60:02d}:{end_minute:02d}:00"
    return {
        "subject": "Stand-up",
        "start": {"dateTime": start, "timeZone": "GMT Standard Time"},
        "end": {"dateTime": end, "timeZone": "GMT Standard Time"},
        "recurrence": recurrence or weekly(),
        **extra,
    }


def view(graph, query: str = SPRING, **kwargs) -> list[dict]:
    items, _ = follow(graph, f"/me/calendarView?{query}&$top=100", **kwargs)
    return items


def in_series(items: list[dict], master_id: str) -> list[dict]:
    return [i for i in items if i.get("seriesMasterId") == master_id]


def test_a_weekly_series_is_a_master_with_its_recurrence_echoed(graph):
    answer = graph("POST", "/me/events", json=series())

    assert answer.status_code == 201, answer.text
    master = answer.json()
    assert master["type"] == "seriesMaster"
    assert master["seriesMasterId"] is None
    assert master["recurrence"] == {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": ["monday"],
            "firstDayOfWeek": "sunday",
            "index": "first",
        },
        "range": {
            "type": "noEnd",
            "startDate": "2030-03-18",
            "endDate": "0001-01-01",
            "recurrenceTimeZone": "GMT Standard Time",
            "numberOfOccurrences": 0,
        },
    }
    again = graph("GET", f"/me/events/{master['id']}").json()
    assert again["recurrence"] == master["recurrence"]


def test_calendar_view_expands_occurrences_at_local_time_across_dst(graph):
    master = graph("POST", "/me/events", json=series()).json()

    items = in_series(view(graph), master["id"])
    assert [i["start"]["dateTime"] for i in items] == [
        "2030-03-18T09:00:00.0000000",  # GMT: 09:00 local
        "2030-03-25T09:00:00.0000000",
        "2030-04-01T08:00:00.0000000",  # BST: still 09:00 local
        "2030-04-08T08:00:00.0000000",
    ]
    assert all(i["type"] == "occurrence" and i["recurrence"] is None for i in items)
    assert all(i["subject"] == "Stand-up" for i in items)
    assert len({i["id"] for i in items}) == 4
    assert master["id"] not in {i["id"] for i in items}
    # The same occurrences keep their ids from one read to the next.
    assert [i["id"] for i in in_series(view(graph), master["id"])] == [i["id"] for i in items]

    local = in_series(
        view(graph, headers={"Prefer": 'outlook.timezone="GMT Standard Time"'}), master["id"]
    )
    assert {i["start"]["dateTime"][11:] for i in local} == {"09:00:00.0000000"}
    assert {i["end"]["dateTime"][11:] for i in local} == {"09:15:00.0000000"}


def test_an_occurrence_can_be_read_by_its_id(graph):
    master = graph("POST", "/me/events", json=series()).json()
    [first, *_] = in_series(view(graph), master["id"])

    answer = graph("GET", f"/me/events/{first['id']}")

    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "occurrence"
    assert answer.json()["seriesMasterId"] == master["id"]
    assert answer.json()["start"] == first["start"]


def _starts(graph, body: dict, query: str) -> list[str]:
    made = graph("POST", "/me/events", json=body)
    assert made.status_code == 201, made.text
    items, _ = follow(graph, f"/me/events/{made.json()['id']}/instances?{query}&$top=50")
    return [i["start"]["dateTime"][:16] for i in items]


@pytest.mark.parametrize(
    ("start", "recurrence", "window", "expected"),
    [
        (
            "2030-05-06T10:00:00",
            {
                "pattern": {"type": "daily", "interval": 2},
                "range": {"type": "numbered", "startDate": "2030-05-06", "numberOfOccurrences": 3},
            },
            ("2030-05-01", "2030-06-01"),
            ["2030-05-06T09:00", "2030-05-08T09:00", "2030-05-10T09:00"],
        ),
        (
            "2030-05-06T10:00:00",  # a Monday; every other week, weeks starting on Monday
            {
                "pattern": {
                    "type": "weekly",
                    "interval": 2,
                    "daysOfWeek": ["monday", "wednesday"],
                    "firstDayOfWeek": "monday",
                },
                "range": {"type": "endDate", "startDate": "2030-05-06", "endDate": "2030-05-22"},
            },
            ("2030-05-01", "2030-06-01"),
            ["2030-05-06T09:00", "2030-05-08T09:00", "2030-05-20T09:00", "2030-05-22T09:00"],
        ),
        (
            "2030-01-31T10:00:00",  # day 31: the last day of shorter months, as Outlook does
            {
                "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
                "range": {"type": "numbered", "startDate": "2030-01-31", "numberOfOccurrences": 4},
            },
            ("2030-01-01", "2030-06-01"),
            ["2030-01-31T10:00", "2030-02-28T10:00", "2030-03-31T09:00", "2030-04-30T09:00"],
        ),
        (
            "2030-01-08T10:00:00",  # the second Tuesday of each month
            {
                "pattern": {
                    "type": "relativeMonthly",
                    "interval": 1,
                    "daysOfWeek": ["tuesday"],
                    "index": "second",
                },
                "range": {"type": "noEnd", "startDate": "2030-01-08"},
            },
            ("2030-01-01", "2030-04-01"),
            ["2030-01-08T10:00", "2030-02-12T10:00", "2030-03-12T10:00"],
        ),
        (
            "2030-07-14T10:00:00",
            {
                "pattern": {"type": "absoluteYearly", "interval": 1, "month": 7, "dayOfMonth": 14},
                "range": {"type": "endDate", "startDate": "2030-07-14", "endDate": "2032-07-14"},
            },
            ("2030-01-01", "2035-01-01"),
            ["2030-07-14T09:00", "2031-07-14T09:00", "2032-07-14T09:00"],
        ),
        (
            "2030-11-29T10:00:00",  # the last Friday of November
            {
                "pattern": {
                    "type": "relativeYearly",
                    "interval": 1,
                    "month": 11,
                    "daysOfWeek": ["friday"],
                    "index": "last",
                },
                "range": {"type": "numbered", "startDate": "2030-11-29", "numberOfOccurrences": 3},
            },
            ("2030-01-01", "2034-01-01"),
            ["2030-11-29T10:00", "2031-11-28T10:00", "2032-11-26T10:00"],
        ),
    ],
    ids=[
        "daily",
        "weekly",
        "absoluteMonthly",
        "relativeMonthly",
        "absoluteYearly",
        "relativeYearly",
    ],
)
def test_each_pattern_and_range(graph, start, recurrence, window, expected):
    query = f"startDateTime={window[0]}T00:00:00Z&endDateTime={window[1]}T00:00:00Z"
    assert _starts(graph, series(recurrence, start=start), query) == expected


def test_the_range_end_date_is_read_in_the_recurrence_time_zone(graph):
    def count(start: str, end_date: str, zone: str) -> int:
        recurrence = {
            "pattern": {"type": "daily", "interval": 1},
            "range": {
                "type": "endDate",
                "startDate": start[:10],
                "endDate": end_date,
                "recurrenceTimeZone": zone,
            },
        }
        made = graph("POST", "/me/events", json=series(recurrence, start=start))
        assert made.json()["recurrence"]["range"]["recurrenceTimeZone"] == zone
        query = "startDateTime=2030-05-01T00:00:00Z&endDateTime=2030-06-01T00:00:00Z"
        items, _ = follow(graph, f"/me/events/{made.json()['id']}/instances?{query}")
        return len(items)

    # 06:00 London on 8 May is still 7 May in Los Angeles: past that range's end.
    assert count("2030-05-06T06:00:00", "2030-05-07", "Pacific Standard Time") == 3
    assert count("2030-05-06T06:00:00", "2030-05-07", "GMT Standard Time") == 2
    # An end date thousands of years away is accepted (and stops nothing nearby).
    assert count("2030-05-06T06:00:00", "9999-12-31", "UTC") == 26


BAD = [
    ({"pattern": {"type": "hourly", "interval": 1}}, 400, "RequestBodyRead"),
    ({"pattern": {"type": "weekly", "interval": 1}}, 400, "ErrorInvalidRequest"),
    ({"pattern": {"type": "daily", "interval": 0}}, 400, "ErrorInvalidRequest"),
    (
        {"pattern": {"type": "daily", "interval": 1, "daysOfWeek": ["funday"]}},
        400,
        "RequestBodyRead",
    ),
    ({"pattern": {"type": "absoluteMonthly", "interval": 1}}, 400, "ErrorInvalidRequest"),
    ({"pattern": {"type": "daily", "interval": 1, "often": True}}, 400, "RequestBodyRead"),
    ({"range": {"type": "forever", "startDate": "2030-03-18"}}, 400, "RequestBodyRead"),
    ({"range": {"type": "endDate", "startDate": "2030-03-18"}}, 400, "ErrorInvalidRequest"),
    (
        {"range": {"type": "endDate", "startDate": "2030-03-18", "endDate": "2030-03-01"}},
        400,
        "ErrorCalendarEndDateIsEarlierThanStartDate",
    ),
    ({"range": {"type": "numbered", "startDate": "2030-03-18"}}, 400, "ErrorInvalidRequest"),
    ({"range": {"type": "noEnd", "startDate": "18/03/2030"}}, 400, "RequestBodyRead"),
    ({"range": {"type": "noEnd", "startDate": "2030-03-19"}}, 400, "ErrorInvalidRequest"),
    (
        {"range": {"type": "noEnd", "startDate": "2030-03-18", "recurrenceTimeZone": "Mars"}},
        400,
        "TimeZoneNotSupportedException",
    ),
    ({"pattern": None}, 400, "ErrorInvalidRequest"),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD)
def test_a_bad_recurrence_is_refused_in_graphs_shape(graph, change, status, code):
    recurrence = {**weekly(), **change}
    if recurrence["pattern"] is None:
        del recurrence["pattern"]
    answer = graph("POST", "/me/events", json=series(recurrence))

    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert set(error["innerError"]) >= {"date", "request-id"}
    assert all(e.subject != "Stand-up" for e in control.events(ADELE))


def test_events_lists_the_master_and_instances_its_occurrences(graph):
    master = graph("POST", "/me/events", json=series()).json()

    listed = graph("GET", "/me/events?$top=100").json()["value"]
    mine = [e for e in listed if e["subject"] == "Stand-up"]
    assert [(e["id"], e["type"]) for e in mine] == [(master["id"], "seriesMaster")]

    query = "startDateTime=2030-03-01T00:00:00Z&endDateTime=2030-04-01T00:00:00Z"
    items, _ = follow(graph, f"/me/events/{master['id']}/instances?{query}")
    assert [i["type"] for i in items] == ["occurrence", "occurrence"]
    single = graph("GET", "/me/events?$top=1").json()["value"][0]
    if single["type"] == "singleInstance":
        none, _ = follow(graph, f"/me/events/{single['id']}/instances?{query}")
        assert none == []
    missing = graph("GET", f"/me/events/{master['id']}/instances")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "ErrorInvalidParameter"


def test_changing_an_occurrence_makes_an_exception(graph):
    master = graph("POST", "/me/events", json=series()).json()
    [first, second, *_] = in_series(view(graph), master["id"])

    answer = graph(
        "PATCH",
        f"/me/events/{second['id']}",
        json={
            "subject": "Stand-up (moved)",
            "start": {"dateTime": "2030-03-25T14:00:00", "timeZone": "GMT Standard Time"},
            "end": {"dateTime": "2030-03-25T14:30:00", "timeZone": "GMT Standard Time"},
        },
    )

    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert (changed["id"], changed["type"]) == (second["id"], "exception")
    assert changed["seriesMasterId"] == master["id"]
    items = in_series(view(graph), master["id"])
    assert [(i["id"], i["type"], i["start"]["dateTime"][:16]) for i in items[:2]] == [
        (first["id"], "occurrence", "2030-03-18T09:00"),
        (second["id"], "exception", "2030-03-25T14:00"),
    ]
    assert items[1]["subject"] == "Stand-up (moved)"
    assert items[1]["originalStart"].startswith("2030-03-25T09:00:00")
    again = graph("PATCH", f"/me/events/{second['id']}", json={"showAs": "tentative"})
    assert again.json()["type"] == "exception"
    assert again.json()["subject"] == "Stand-up (moved)"
    refused = graph("PATCH", f"/me/events/{second['id']}", json={"recurrence": weekly()})
    assert refused.status_code == 400


def test_deleting_an_occurrence_removes_it_from_the_series(graph):
    master = graph("POST", "/me/events", json=series()).json()
    [first, second, third, *_] = in_series(view(graph), master["id"])

    assert graph("DELETE", f"/me/events/{second['id']}").status_code == 204

    remaining = [i["id"] for i in in_series(view(graph), master["id"])]
    assert second["id"] not in remaining
    assert [first["id"], third["id"]] == remaining[:2]
    assert graph("GET", f"/me/events/{second['id']}").status_code == 404
    assert graph("DELETE", f"/me/events/{second['id']}").status_code == 404
    query = "startDateTime=2030-03-01T00:00:00Z&endDateTime=2030-04-01T00:00:00Z"
    items, _ = follow(graph, f"/me/events/{master['id']}/instances?{query}")
    assert [i["id"] for i in items] == [first["id"]]


def test_deleting_an_occurrence_of_a_meeting_cancels_it_for_the_attendees(graph):
    attendees = [{"emailAddress": {"address": MEGAN, "name": "Megan"}, "type": "required"}]
    master = graph("POST", "/me/events", json=series(attendees=attendees)).json()
    megan = [i for i in view(graph, as_=MEGAN) if i["subject"] == "Stand-up"]
    assert [i["type"] for i in megan] == ["occurrence"] * 4
    second = in_series(view(graph), master["id"])[1]

    graph("DELETE", f"/me/events/{second['id']}")

    megan = [i for i in view(graph, as_=MEGAN) if i["subject"].endswith("Stand-up")]
    assert [(i["type"], i["isCancelled"], i["subject"]) for i in megan] == [
        ("occurrence", False, "Stand-up"),
        ("exception", True, "Canceled: Stand-up"),
        ("occurrence", False, "Stand-up"),
        ("occurrence", False, "Stand-up"),
    ]


def test_changing_and_deleting_the_master_changes_and_removes_the_series(graph):
    master = graph("POST", "/me/events", json=series()).json()
    [_first, second, *_] = in_series(view(graph), master["id"])
    graph("PATCH", f"/me/events/{second['id']}", json={"subject": "Special"})

    renamed = graph("PATCH", f"/me/events/{master['id']}", json={"subject": "Daily scrum"})
    assert renamed.status_code == 200
    assert renamed.json()["type"] == "seriesMaster"
    subjects = [i["subject"] for i in in_series(view(graph), master["id"])]
    assert subjects == ["Daily scrum", "Special", "Daily scrum", "Daily scrum"]

    # New times or a new pattern: the exceptions go, as in Outlook.
    moved = graph(
        "PATCH",
        f"/me/events/{master['id']}",
        json={
            "start": {"dateTime": "2030-03-19T11:00:00", "timeZone": "GMT Standard Time"},
            "end": {"dateTime": "2030-03-19T11:30:00", "timeZone": "GMT Standard Time"},
            "recurrence": weekly(days=("tuesday",))
            | {"range": {"type": "numbered", "startDate": "2030-03-19", "numberOfOccurrences": 2}},
        },
    )
    assert moved.status_code == 200, moved.text
    items = in_series(view(graph), master["id"])
    assert [(i["type"], i["start"]["dateTime"][:16]) for i in items] == [
        ("occurrence", "2030-03-19T11:00"),
        ("occurrence", "2030-03-26T11:00"),
    ]
    assert graph("GET", f"/me/events/{second['id']}").status_code == 404

    assert graph("DELETE", f"/me/events/{master['id']}").status_code == 204
    assert in_series(view(graph), master["id"]) == []
    assert graph("GET", f"/me/events/{items[0]['id']}").status_code == 404


def test_paging_walks_through_a_series(graph):
    recurrence = {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2030-03-18", "numberOfOccurrences": 7},
    }
    master = graph("POST", "/me/events", json=series(recurrence)).json()
    query = "startDateTime=2030-03-18T00:00:00Z&endDateTime=2030-03-25T00:00:00Z"

    items, _ = follow(graph, f"/me/calendarView?{query}&$top=2")

    mine = in_series(items, master["id"])
    assert len(mine) == 7
    assert len({i["id"] for i in mine}) == 7
    assert [i["start"]["dateTime"][:10] for i in mine] == [
        str(date(2030, 3, d)) for d in range(18, 25)
    ]


def _delta_round(graph, url: str) -> tuple[list[dict], str]:
    items, last = follow(graph, url, headers={"Prefer": "odata.maxpagesize=2"})
    return items, last["@odata.deltaLink"]


def test_delta_reports_occurrences_and_their_changes(graph):
    calendar = graph("GET", "/me/calendar").json()["id"]
    master = graph("POST", "/me/events", json=series()).json()
    start = f"/me/calendars/{calendar}/calendarView/delta?{SPRING}"
    items, link = _delta_round(graph, start)
    mine = in_series(items, master["id"])
    assert len(mine) == 4
    assert all(i["type"] == "occurrence" for i in mine)
    assert master["id"] not in {i["id"] for i in items}

    graph("DELETE", f"/me/events/{mine[1]['id']}")
    graph("PATCH", f"/me/events/{mine[2]['id']}", json={"subject": "Moved"})
    changes, link = _delta_round(graph, link)
    assert {"id": mine[1]["id"], "@removed": {"reason": "deleted"}} in [
        {k: v for k, v in c.items() if k != "@odata.type"} for c in changes
    ]
    [moved] = [c for c in changes if c["id"] == mine[2]["id"]]
    assert moved["type"] == "exception"
    assert moved["subject"] == "Moved"

    # The series moves a day later: its old occurrences are reported removed.
    graph(
        "PATCH",
        f"/me/events/{master['id']}",
        json={
            "start": {"dateTime": "2030-03-19T09:00:00", "timeZone": "GMT Standard Time"},
            "end": {"dateTime": "2030-03-19T09:15:00", "timeZone": "GMT Standard Time"},
            "recurrence": weekly(days=("tuesday",))
            | {"range": {"type": "noEnd", "startDate": "2030-03-19"}},
        },
    )
    changes, link = _delta_round(graph, link)
    removed = {c["id"] for c in changes if "@removed" in c}
    assert {mine[0]["id"], mine[2]["id"], mine[3]["id"]} <= removed
    added = [c for c in changes if "@removed" not in c and c.get("seriesMasterId") == master["id"]]
    assert sorted(c["start"]["dateTime"][:10] for c in added) == [
        "2030-03-19",
        "2030-03-26",
        "2030-04-02",
        "2030-04-09",
    ]

    graph("DELETE", f"/me/events/{master['id']}")
    changes, _ = _delta_round(graph, link)
    assert {a["id"] for a in added} <= {c["id"] for c in changes if "@removed" in c}


def test_series_changes_are_notified(graph, notification_receiver):
    subscribe(graph, notification_receiver)
    master = graph("POST", "/me/events", json=series()).json()
    [first, second, *_] = in_series(view(graph), master["id"])
    graph("PATCH", f"/me/events/{first['id']}", json={"subject": "Moved"})
    graph("DELETE", f"/me/events/{second['id']}")
    graph("PATCH", f"/me/events/{master['id']}", json={"subject": "Renamed"})
    graph("DELETE", f"/me/events/{master['id']}")

    items = notification_receiver.wait_for_items(6)
    seen = [(i["changeType"], i["resourceData"]["id"]) for i in items]
    assert seen[:4] == [
        ("created", master["id"]),
        ("updated", first["id"]),
        ("deleted", second["id"]),
        ("updated", master["id"]),
    ]
    assert set(seen[4:]) == {("deleted", master["id"]), ("deleted", first["id"])}


def test_get_schedule_counts_occurrences(graph):
    graph("POST", "/me/events", json=series())
    answer = graph(
        "POST",
        "/me/calendar/getSchedule",
        json={
            "schedules": [ADELE],
            "startTime": {"dateTime": "2030-04-01T00:00:00", "timeZone": "UTC"},
            "endTime": {"dateTime": "2030-04-02T00:00:00", "timeZone": "UTC"},
            "availabilityViewInterval": 60,
        },
    )
    [schedule] = answer.json()["value"]
    starts = [i["start"]["dateTime"][:16] for i in schedule["scheduleItems"]]
    assert "2030-04-01T08:00" in starts
    assert schedule["availabilityView"][8] == "2"


def test_an_attendees_delta_hears_of_the_organizers_series_moving(graph):
    attendees = [{"emailAddress": {"address": MEGAN, "name": "Megan"}, "type": "required"}]
    master = graph("POST", "/me/events", json=series(attendees=attendees)).json()
    calendar = graph("GET", "/me/calendar", as_=MEGAN).json()["id"]
    items, last = follow(graph, f"/me/calendars/{calendar}/calendarView/delta?{SPRING}", as_=MEGAN)
    before = {i["id"] for i in items if i.get("subject") == "Stand-up"}
    assert len(before) == 4

    graph(
        "PATCH",
        f"/me/events/{master['id']}",
        json={
            "start": {"dateTime": "2030-03-18T15:00:00", "timeZone": "GMT Standard Time"},
            "end": {"dateTime": "2030-03-18T15:15:00", "timeZone": "GMT Standard Time"},
        },
    )

    changes, _ = follow(graph, last["@odata.deltaLink"], as_=MEGAN)
    assert before <= {c["id"] for c in changes if "@removed" in c}
    moved = [c for c in changes if c.get("subject") == "Stand-up"]
    assert sorted(c["start"]["dateTime"][11:16] for c in moved) == [
        "14:00",  # BST
        "14:00",
        "15:00",  # GMT
        "15:00",
    ]
