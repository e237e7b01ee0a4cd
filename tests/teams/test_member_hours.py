"""Team pages that use each member's own working hours, in each member's own time zone.

Bob works in New York, Carol in Berlin; the page is in London (all in winter here:
London = UTC, New York = UTC-5, Berlin = UTC+1, unless a test day falls elsewhere, so
the expectations are computed with zoneinfo, not written as offsets).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from booking.models import Booking, BookingPage, HoursSource, MemberHours
from booking.slots import Interval, MemberTime, Rules, WorkingHours, team_slots
from tests.support.booking import book, slots_url, workday
from tests.teams.conftest import make_team_page

LONDON = ZoneInfo("Europe/London")


def _starts(client, slug, day) -> set[str]:
    answer = client.get(
        slots_url(slug, start=day.isoformat(), end=day.isoformat(), tz="Europe/London")
    )
    assert answer.status_code == 200, answer.content
    return {slot["start"][11:16] for slot in answer.json()["slots"]}


def _london(day, hour, minute=0, *, zone: str) -> str:
    """``hour:minute`` on ``day`` in ``zone``, as London's clock reads it."""
    moment = datetime.combine(day, time(hour, minute), ZoneInfo(zone)).astimezone(LONDON)
    return f"{moment:%H:%M}"


def _hours(user, *ranges):
    MemberHours.objects.filter(user=user).delete()
    for weekday, start, end in ranges:
        MemberHours.objects.create(user=user, weekday=weekday, start=start, end=end)


@pytest.fixture
def pages(db, org, host, teammate):
    _, carol = org
    made = {
        slug: make_team_page(
            org=org,
            admin=host,
            kind=kind,
            users=[teammate, carol],
            slug=slug,
            hours_source=source,
        )
        for slug, kind, source in (
            ("rr-own", "round_robin", HoursSource.MEMBERS),
            ("co-own", "collective", HoursSource.MEMBERS),
            ("rr-page", "round_robin", HoursSource.PAGE),
        )
    }
    return made


def test_round_robin_offers_each_members_own_hours_in_their_zone(client, org, teammate, pages):
    day = workday("Europe/London")
    starts = _starts(client, "rr-own", day)
    carol_first = _london(day, 9, zone="Europe/Berlin")  # 08:00 in London in winter
    bob_last = _london(day, 16, 30, zone="America/New_York")  # 21:30 in London in winter
    assert carol_first in starts
    assert bob_last in starts
    assert _london(day, 8, 30, zone="Europe/Berlin") not in starts
    assert _london(day, 17, zone="America/New_York") not in starts
    # The same members on a page that keeps its own hours (London 9:00-17:00).
    own_page = _starts(client, "rr-page", day)
    assert min(own_page) == "09:00"
    assert max(own_page) == "16:30"

    # Bob moves his day: Tuesday-style 6:00-8:00 New York only. Late London evening closes.
    _hours(teammate, (day.weekday(), time(6), time(8)))
    starts = _starts(client, "rr-own", day)
    assert bob_last not in starts
    assert _london(day, 6, zone="America/New_York") in starts


def test_collective_offers_only_the_overlap_of_everyones_hours(client, pages):
    day = workday("Europe/London")
    starts = _starts(client, "co-own", day)
    # Bob from 9:00 New York, Carol until 17:00 Berlin: the overlap is all that is offered.
    first, last = (
        _london(day, 9, zone="America/New_York"),
        _london(day, 16, 30, zone="Europe/Berlin"),
    )
    assert min(starts) == first
    assert max(starts) == last
    assert _london(day, 8, 30, zone="America/New_York") not in starts
    assert _london(day, 17, zone="Europe/Berlin") not in starts


def test_booking_honours_members_hours(client, org, teammate, pages):
    _, _carol = org
    day = workday("Europe/London")
    zone_bob, zone_carol = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
    early = datetime.combine(day, time(9), zone_carol)  # only Carol works then
    late = datetime.combine(day, time(16), zone_bob)  # only Bob works then
    answer = book(client, "rr-own", start=early, email="early@example.com")
    assert answer.status_code == 201, answer.content
    assert answer.json()["host"] == {"name": "Carol Member"}
    answer = book(client, "rr-own", start=late, email="late@example.com")
    assert answer.status_code == 201, answer.content
    assert answer.json()["host"] == {"name": "Bob Teammate"}
    # Before anyone's hours: never offered (400), even though the page is open all day.
    before = datetime.combine(day, time(8), zone_carol)
    assert book(client, "rr-own", start=before).status_code == 400
    # Collective: Carol's early hour is not Bob's.
    assert book(client, "co-own", start=early + timedelta(minutes=30)).status_code == 400
    overlap = datetime.combine(day, time(10), zone_bob)
    answer = book(client, "co-own", start=overlap, email="both@example.com")
    assert answer.status_code == 201, answer.content
    assert Booking.objects.count() == 3


def test_booking_rechecks_hours_changed_after_the_slots_were_listed(client, org, pages):
    _, carol = org
    day = workday("Europe/London")
    early = datetime.combine(day, time(9), ZoneInfo("Europe/Berlin"))
    assert _london(day, 9, zone="Europe/Berlin") in _starts(client, "rr-own", day)
    _hours(carol, (day.weekday(), time(12), time(17)))  # Carol now starts at noon
    assert book(client, "rr-own", start=early).status_code == 400
    assert not Booking.objects.exists()


def test_member_without_rows_works_monday_to_friday_nine_to_five(client, org, pages):
    saturday = workday("Europe/London", days_ahead=2)
    while saturday.weekday() != 5:
        saturday += timedelta(days=1)
    assert _starts(client, "rr-own", saturday) == set()
    _, carol = org
    _hours(carol, (5, time(10), time(12)))
    assert _starts(client, "rr-own", saturday) == {
        _london(saturday, h, m, zone="Europe/Berlin")
        for h, m in ((10, 0), (10, 30), (11, 0), (11, 30))
    }


# --- Setup → Working hours ---------------------------------------------------------------


def _hours_post(rows):
    data = {
        "hours-TOTAL_FORMS": str(len(rows)),
        "hours-INITIAL_FORMS": "0",
        "hours-MIN_NUM_FORMS": "0",
        "hours-MAX_NUM_FORMS": "1000",
    }
    for index, (weekday, start, end) in enumerate(rows):
        data[f"hours-{index}-weekday"] = str(weekday)
        data[f"hours-{index}-start"] = start
        data[f"hours-{index}-end"] = end
    return data


def test_working_hours_page_shows_defaults_and_saves(client, org):
    _, carol = org
    client.force_login(carol)
    url = reverse("pages:working_hours")
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="09:00"' in page.content.decode()
    assert "Europe/Berlin" in page.content.decode()
    answer = client.post(url, _hours_post([(0, "07:00", "11:00"), (0, "12:00", "15:00")]))
    assert answer.status_code == 302
    assert list(MemberHours.objects.filter(user=carol).values_list("weekday", "start", "end")) == [
        (0, time(7), time(11)),
        (0, time(12), time(15)),
    ]
    assert 'value="07:00"' in client.get(url).content.decode()


@pytest.mark.parametrize(
    "rows",
    [
        [],  # nothing at all
        [(0, "", "")],  # an empty row only
        [(0, "09:00", "12:00"), (0, "11:00", "13:00")],  # overlapping
        [(0, "12:00", "09:00")],  # reversed
        [(9, "09:00", "12:00")],  # no such weekday
        [(0, "nine", "12:00")],  # not a time
    ],
)
def test_working_hours_page_refuses_impossible_hours(client, org, rows):
    _, carol = org
    client.force_login(carol)
    _hours(carol, (2, time(8), time(9)))
    answer = client.post(reverse("pages:working_hours"), _hours_post(rows))
    assert answer.status_code == 400
    assert list(MemberHours.objects.filter(user=carol).values_list("weekday", flat=True)) == [2]


def test_working_hours_page_needs_a_login(client):
    answer = client.get(reverse("pages:working_hours"))
    assert answer.status_code == 302
    assert "login" in answer["Location"]


def test_team_page_form_chooses_members_hours(client, org, host, teammate, pages):
    _, carol = org
    page = pages["rr-page"]
    client.force_login(host)
    url = reverse("team:page_members", args=[page.pk])
    data = {f"member_{u.pk}": "on" for u in (teammate, carol)}
    for user in (host, teammate, carol):
        data[f"priority_{user.pk}"] = "0"
        data[f"weight_{user.pk}"] = "1"
    answer = client.post(url, {**data, "hours_source": "members"})
    assert answer.status_code == 302, answer.content
    page.refresh_from_db()
    assert page.hours_source == HoursSource.MEMBERS
    assert client.post(url, {**data, "hours_source": "nonsense"}).status_code == 400
    assert BookingPage.objects.get(pk=page.pk).hours_source == HoursSource.MEMBERS


# --- the pure engine ------------------------------------------------------------------------


def test_engine_member_hours_are_their_own_wall_clock_across_zones():
    monday = datetime(2030, 1, 7).date()  # winter everywhere used here
    rules = Rules(time_zone="Europe/London", weekly_hours={}).whole_days()
    tokyo = WorkingHours(time_zone="Asia/Tokyo", weekly_hours={0: [(time(9), time(10))]})
    lima = WorkingHours(time_zone="America/Lima", weekly_hours={0: [(time(9), time(10))]})
    start = datetime.combine(monday, time(0), LONDON) - timedelta(days=1)
    end = start + timedelta(days=3)
    now = start - timedelta(days=1)
    members = {"tokyo": MemberTime(hours=tokyo), "lima": MemberTime(hours=lima)}
    found = team_slots(
        rules=rules,
        members=members,
        page_bookings=(),
        start=start,
        end=end,
        now=now,
        everyone=False,
    )
    assert [(f"{s.start:%a %H:%M}", s.free) for s in found] == [
        ("Mon 00:00", ("tokyo",)),  # 09:00 Tokyo = 00:00 UTC
        ("Mon 00:30", ("tokyo",)),
        ("Mon 14:00", ("lima",)),  # 09:00 Lima = 14:00 UTC
        ("Mon 14:30", ("lima",)),
    ]
    assert not team_slots(
        rules=rules, members=members, page_bookings=(), start=start, end=end, now=now, everyone=True
    )
    # Busy time inside the hours still blocks; a slot must lie wholly within them.
    busy = Interval(
        datetime(2030, 1, 7, 0, 0, tzinfo=LONDON), datetime(2030, 1, 7, 0, 30, tzinfo=LONDON)
    )
    members["tokyo"] = MemberTime(busy=[busy], hours=tokyo)
    hour_long = Rules(
        time_zone="Europe/London", weekly_hours={}, duration=timedelta(minutes=45)
    ).whole_days()
    found = team_slots(
        rules=hour_long,
        members=members,
        page_bookings=(),
        start=start,
        end=end,
        now=now,
        everyone=False,
    )
    assert [f"{s.start:%H:%M}" for s in found] == ["14:00"]
