"""`make run` seeds the demo host's booking page `demo`, so its public link works at once."""

from __future__ import annotations

from datetime import datetime, time
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from accounts.demo import DEMO_TIME_ZONE
from booking.models import BookingPage
from tests.support.booking import slots_url, workday

pytestmark = pytest.mark.django_db(databases=["default", "graph_sandbox"])


def test_seed_demo_creates_the_demo_page_once_and_prints_its_link(client):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert BookingPage.objects.filter(slug="demo").count() == 1
    page = BookingPage.objects.get(slug="demo")
    assert page.host.email == "demo@example.com"
    assert (page.duration_minutes, page.time_zone) == (30, DEMO_TIME_ZONE)
    assert "Created the demo booking page: http://127.0.0.1:8000/book/demo/" in out.getvalue()
    assert "Found the demo booking page" in out.getvalue()
    assert client.get("/book/demo/").status_code == 200

    day = workday(DEMO_TIME_ZONE)
    slots = client.get(slots_url("demo", start=day, end=day, tz=DEMO_TIME_ZONE)).json()["slots"]
    zone = ZoneInfo(DEMO_TIME_ZONE)
    local = [datetime.fromisoformat(s["start"]).astimezone(zone).time() for s in slots]
    assert local[0] == time(9)
    assert local[-1] == time(16, 30)
    assert len(local) == 16
