"""``POST /me/calendar/getSchedule``, from "calendar: getSchedule" (Graph v1.0)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN

pytestmark = [pytest.mark.slow]

DAY = datetime(2030, 1, 7, tzinfo=UTC)


def request(*addresses: str, interval: int = 60) -> dict:
    return {
        "schedules": list(addresses),
        "startTime": {"dateTime": "2030-01-07T08:00:00", "timeZone": "UTC"},
        "endTime": {"dateTime": "2030-01-07T14:00:00", "timeZone": "UTC"},
        "availabilityViewInterval": interval,
    }


def add(who: str, subject: str, hour: int, minutes: int, show_as: str) -> None:
    start = DAY + timedelta(hours=hour)
    control.event_add(
        who, subject=subject, start=start, end=start + timedelta(minutes=minutes), show_as=show_as
    )


def test_get_schedule_answers_items_availability_view_and_working_hours(graph):
    add(ADELE, "Planning", 9, 60, "busy")
    add(ADELE, "Maybe", 11, 30, "tentative")
    add(ADELE, "Offsite", 13, 60, "oof")
    add(ADELE, "Lunch (free)", 12, 60, "free")
    response = graph("POST", "/me/calendar/getSchedule", json=request(ADELE))
    assert response.status_code == 200, response.text
    (schedule,) = response.json()["value"]
    assert schedule["scheduleId"] == ADELE
    assert schedule["availabilityView"] == "020103"  # 8-9 free, 9 busy, …, 13 oof
    assert [item["status"] for item in schedule["scheduleItems"]] == ["busy", "tentative", "oof"]
    first = schedule["scheduleItems"][0]
    assert first["start"] == {"dateTime": "2030-01-07T09:00:00.0000000", "timeZone": "UTC"}
    assert first["subject"] == "Planning"  # one's own schedule shows subjects
    hours = schedule["workingHours"]
    assert hours["daysOfWeek"][0] == "monday"
    assert hours["startTime"] == "08:00:00.0000000"
    assert hours["timeZone"]["name"] == "GMT Standard Time"


def test_other_peoples_items_show_only_free_busy(graph):
    add(MEGAN, "Private matter", 9, 60, "busy")
    (schedule,) = graph("POST", "/me/calendar/getSchedule", json=request(MEGAN)).json()["value"]
    (item,) = schedule["scheduleItems"]
    assert item["status"] == "busy"
    assert "subject" not in item


def test_an_unknown_address_answers_an_error_for_that_schedule(graph):
    value = graph(
        "POST", "/me/calendar/getSchedule", json=request(ADELE, "nobody@elsewhere.example")
    ).json()["value"]
    assert value[1]["scheduleId"] == "nobody@elsewhere.example"
    assert value[1]["error"]["responseCode"]
    assert "availabilityView" in value[0]


def test_prefer_timezone_applies_to_schedule_items(graph):
    add(ADELE, "Planning", 9, 60, "busy")
    response = graph(
        "POST",
        "/me/calendar/getSchedule",
        json=request(ADELE),
        headers={"Prefer": 'outlook.timezone="Eastern Standard Time"'},
    )
    (item,) = response.json()["value"][0]["scheduleItems"]
    assert item["start"] == {
        "dateTime": "2030-01-07T04:00:00.0000000",
        "timeZone": "Eastern Standard Time",
    }


def test_get_schedule_validates_its_request(graph):
    assert graph("POST", "/me/calendar/getSchedule", json={}).status_code == 400
    bad_interval = graph("POST", "/me/calendar/getSchedule", json=request(ADELE, interval=1))
    assert bad_interval.status_code == 400
    # Midnight of year 1 in Tokyo is before year 1 in UTC.
    too_early = {
        **request(ADELE),
        "startTime": {"dateTime": "0001-01-01T00:00:00", "timeZone": "Asia/Tokyo"},
    }
    assert graph("POST", "/me/calendar/getSchedule", json=too_early).status_code == 400
