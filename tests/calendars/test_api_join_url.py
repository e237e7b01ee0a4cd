"""The read API and webhooks tell a Teams meeting from a phone call, and give the Teams
join link once the push to the Graph sandbox made it (null before, and once cancelled)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openapi_schema_validator import OAS31Validator

from booking.models import Booking, BookingPage, LocationKind
from integrations.models import EventType, WebhookDelivery
from integrations.tokens import token_create
from integrations.webhooks import endpoint_create
from tests.calendars.test_push import book_one, ours, push
from tests.integrations.test_api import check
from tests.support.office365 import offered, tomorrow

pytestmark = pytest.mark.slow


@pytest.fixture
def api(client, host):
    _row, value = token_create(owner=host, name="CRM")

    def get(path: str, **params):
        return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {value}")

    return get


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json()


@pytest.fixture
def hook(host):
    """Alice's endpoint for every event (only its delivery rows are read here)."""
    created, _secret = endpoint_create(
        owner=host, url="http://127.0.0.1:22001/hook", events=list(EventType.values)
    )
    return created


def _deliveries(event_type: str) -> list[dict]:
    rows = WebhookDelivery.objects.filter(event_type=event_type).order_by("pk")
    return [json.loads(row.body)["data"] for row in rows]


def _listed(api, spec) -> dict[str, dict]:
    body = check(spec, api("/api/v1/bookings"), "/api/v1/bookings")
    return {row["id"]: row for row in body["data"]}


def test_the_kind_and_the_join_link_after_the_push_in_the_api_and_webhooks(
    client, adele, intro, o365, api, spec, hook, django_capture_on_commit_callbacks
):
    made, row = book_one(client)
    [created] = _deliveries(EventType.BOOKING_CREATED)
    assert (created["location_kind"], created["join_url"]) == ("teams", None)
    assert _listed(api, spec)[made["id"]]["join_url"] is None
    one = check(spec, api(f"/api/v1/bookings/{made['id']}"), "/api/v1/bookings/{id}")
    assert (one["location_kind"], one["join_url"]) == ("teams", None)

    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    assert event.join_url.startswith("http")
    listed = _listed(api, spec)[made["id"]]
    assert (listed["location_kind"], listed["join_url"]) == ("teams", event.join_url)
    one = check(spec, api(f"/api/v1/bookings/{made['id']}"), "/api/v1/bookings/{id}")
    assert (one["location_kind"], one["join_url"]) == ("teams", event.join_url)
    assert one["location"] == Booking.objects.get().location  # the stored text, as before

    # A later event carries the link (a reschedule keeps the same Teams meeting) ...
    new_start, _end = offered(client, "intro", first=tomorrow())[5]
    assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    [moved] = _deliveries(EventType.BOOKING_RESCHEDULED)
    assert (moved["location_kind"], moved["join_url"]) == ("teams", event.join_url)
    for data in (created, moved):
        OAS31Validator(
            {"$ref": "#/components/schemas/Booking", "components": spec["components"]}
        ).validate(data)

    # ... and a cancelled booking's is gone: the meeting is no longer wanted.
    client.post(made["cancel_url"], {"reason": ""})
    [cancelled] = _deliveries(EventType.BOOKING_CANCELLED)
    assert (cancelled["location_kind"], cancelled["join_url"]) == ("teams", None)
    assert _listed(api, spec)[made["id"]]["join_url"] is None


def test_a_phone_page_says_phone_and_has_no_join_link(client, adele, intro, o365, api, spec):
    BookingPage.objects.filter(slug="intro").update(
        location_kind=LocationKind.PHONE, location_details="+44 20 7946 0958"
    )
    made, row = book_one(client)
    assert push(row) == "synced"
    one = check(spec, api(f"/api/v1/bookings/{made['id']}"), "/api/v1/bookings/{id}")
    assert (one["location_kind"], one["join_url"]) == ("phone", None)
    assert "+44 20 7946 0958" in one["location"]


def test_a_booking_older_than_the_location_facts_has_no_kind(client, adele, intro, o365, api, spec):
    made, _row = book_one(client)
    Booking.objects.update(location_kind="", location="Room 4")
    one = check(spec, api(f"/api/v1/bookings/{made['id']}"), "/api/v1/bookings/{id}")
    assert (one["location"], one["location_kind"]) == ("Room 4", None)


def test_the_list_reads_every_join_link_in_one_query(client, adele, intro, o365, api, spec):
    _made, row = book_one(client)
    assert push(row) == "synced"
    _listed(api, spec)  # the token's first use is recorded once: not counted below
    with CaptureQueriesContext(connection) as one_booking:
        assert len(_listed(api, spec)) == 1
    for index in (3, 6, 9):
        _made, row = book_one(client, index=index)
        assert push(row) == "synced"
    with CaptureQueriesContext(connection) as four_bookings:
        listed = _listed(api, spec)
    urls = {event.join_url for event in ours(o365)}
    assert len(urls) == 4
    assert {row["join_url"] for row in listed.values()} == urls
    assert len(four_bookings) == len(one_booking)
