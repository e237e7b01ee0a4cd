"""booking.meeting_link_ready: once the push to the Graph sandbox made the Teams meeting,
subscribed endpoints (personal and organization-wide) get the booking with its join_url,
once per booking, written with the join-link email; never for a cancelled booking."""

from __future__ import annotations

import json

import pytest
from openapi_schema_validator import OAS31Validator

from accounts.services import organization_create_for
from booking.email_outbox import JOIN_LINK
from booking.models import BookingEmail
from calendars import signals
from integrations.models import EventType, WebhookDelivery
from integrations.webhooks import endpoint_create
from tests.calendars.test_push import book_one, confirmations_sent, ours, push

pytestmark = pytest.mark.slow

READY = EventType.BOOKING_MEETING_LINK_READY


def _endpoint(owner, events, **kwargs):
    created, _secret = endpoint_create(
        owner=owner, url="http://127.0.0.1:22001/hook", events=list(events), **kwargs
    )
    return created


def _ready(endpoint=None) -> list[dict]:
    rows = WebhookDelivery.objects.filter(event_type=READY).order_by("pk")
    if endpoint is not None:
        rows = rows.filter(endpoint=endpoint)
    return [json.loads(row.body) for row in rows]


def _signal_again(made: dict, url: str) -> None:
    """The calendar's signal as the push sends it once its write committed."""
    signals.join_link_ready.send(sender=None, source=f"booking:{made['id']}", url=url)


def test_a_subscribed_endpoint_gets_the_join_link_once_after_the_push(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    wanting = _endpoint(host, [EventType.BOOKING_CREATED, READY])
    not_wanting = _endpoint(host, [EventType.BOOKING_CREATED, EventType.BOOKING_CANCELLED])
    made, row = book_one(client)
    confirmations_sent()  # the link comes later: in an email of its own
    assert _ready() == []  # booked: no link yet

    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    assert event.join_url.startswith("http")
    [delivered] = _ready(wanting)
    assert delivered["type"] == "booking.meeting_link_ready"
    data = delivered["data"]
    assert (data["id"], data["status"]) == (made["id"], "confirmed")
    assert (data["location_kind"], data["join_url"]) == ("teams", event.join_url)
    assert (data["version"], data["changed_by"]) == (0, "system")
    spec = client.get("/api/v1/openapi.json").json()
    assert "booking.meeting_link_ready" in spec["webhooks"]
    OAS31Validator(
        {"$ref": "#/components/schemas/WebhookEvent", "components": spec["components"]}
    ).validate(delivered)
    OAS31Validator(
        {"$ref": "#/components/schemas/Booking", "components": spec["components"]}
    ).validate(data)
    assert _ready(not_wanting) == []
    # Ordered with the booking's other events: after booking.created, on the same key.
    created = WebhookDelivery.objects.get(endpoint=wanting, event_type=EventType.BOOKING_CREATED)
    ready = WebhookDelivery.objects.get(endpoint=wanting, event_type=READY)
    assert (created.order_key, created.pk < ready.pk) == (ready.order_key, True)

    # The same version's signal again (a retried push, a second worker): nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        _signal_again(made, event.join_url)
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        push(row)
    assert len(_ready()) == 1
    assert BookingEmail.objects.filter(kind=JOIN_LINK).count() == 1


def test_an_organization_endpoint_gets_it_too(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    contoso = organization_create_for(user=host, name="Contoso").organization
    everyone = _endpoint(host, [READY], organization=contoso)
    _made, row = book_one(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    [delivered] = _ready(everyone)
    assert delivered["data"]["join_url"] == event.join_url


def test_a_cancelled_booking_gets_none(client, host, adele, intro, o365, monkeypatch):
    """The link arrives after the booking was cancelled: no delivery, no email."""
    _endpoint(host, [READY])
    made, row = book_one(client)
    held = []
    monkeypatch.setattr(signals, "send_after_commit", lambda signal, **kw: held.append(kw))
    assert push(row) == "synced"
    [arguments] = held
    assert arguments["source"] == f"booking:{made['id']}"
    assert client.post(made["cancel_url"], {"reason": ""}).status_code == 302
    signals.join_link_ready.send(sender=None, **arguments)
    assert _ready() == []
    assert not BookingEmail.objects.filter(kind=JOIN_LINK).exists()


def test_with_no_endpoint_wanting_it_no_delivery_is_looked_for(
    client, host, adele, intro, o365, monkeypatch, django_capture_on_commit_callbacks
):
    """Most hosts have no endpoint for it: one read finds that (compiled once per process,
    as the booking's own check before its transaction), and no delivery is built."""
    from integrations import receivers

    _endpoint(host, [EventType.BOOKING_CREATED])  # an endpoint, not for this event
    looked: list[str] = []
    monkeypatch.setattr(receivers, "deliveries_add", lambda **kw: looked.append(kw["event_type"]))
    _made, row = book_one(client)
    confirmations_sent()
    looked.clear()  # booking.created's own
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    assert BookingEmail.objects.filter(kind=JOIN_LINK).count() == 1
    assert looked == []
