"""Whether an endpoint wants a new booking is read before the host's lock; the delivery
rows are still written in the booking's own transaction."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.events import BookingEventKind, booking_event_prepare
from booking.services.bookings import Invitee, booking_create
from integrations import receivers
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.webhooks import endpoint_create
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db

INVITEE = Invitee(name="Dana", email="dana@example.com", time_zone="Asia/Kolkata")
ENDPOINTS = '"integrations_webhookendpoint"'
HOST_LOCK = 'AS "pk" FROM "accounts_user"'  # booking.services.locking.host_lock


def book(page, hour: int = 10):
    return booking_create(page=page, start=at(workday("Europe/London"), hour), invitee=INVITEE)


def _after_lock(captured) -> list[str]:
    sqls = [query["sql"] for query in captured.captured_queries]
    locked = next(n for n, sql in enumerate(sqls) if HOST_LOCK in sql)
    return sqls[locked:]


def test_a_host_without_endpoints_has_them_looked_up_once_before_the_lock(page, host):
    with CaptureQueriesContext(connection) as captured:
        book(page)
    lookups = [q["sql"] for q in captured.captured_queries if ENDPOINTS in q["sql"]]
    assert len(lookups) == 1
    assert not any(ENDPOINTS in sql for sql in _after_lock(captured))
    assert not WebhookDelivery.objects.exists()


def test_a_host_with_an_endpoint_gets_its_delivery_read_again_under_the_lock(page, host, receiver):
    endpoint_create(owner=host, url=receiver.url, events=["booking.created"])
    with CaptureQueriesContext(connection) as captured:
        booking = book(page)
    assert any(ENDPOINTS in sql for sql in _after_lock(captured))
    [delivery] = WebhookDelivery.objects.all()
    assert f'"id":"{booking.uuid}"' in delivery.body


def test_an_endpoint_deleted_while_the_booking_waits_gets_no_row(page, host, receiver, monkeypatch):
    """Found ahead, gone by the time the lock is held: the lookup under the lock decides
    (no delivery pointing at a deleted endpoint, no failed booking)."""
    endpoint, _ = endpoint_create(owner=host, url=receiver.url, events=["booking.created"])
    real_prepare = receivers.on_booking_prepare

    def prepare_then_delete(*args, **kwargs):
        found = real_prepare(*args, **kwargs)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
        return found

    from booking.events import booking_event_preparing

    booking_event_preparing.disconnect(dispatch_uid="integrations.on_booking_prepare")
    booking_event_preparing.connect(prepare_then_delete, dispatch_uid="test.prepare")
    monkeypatch.setattr(receivers, "on_booking_prepare", prepare_then_delete)
    try:
        book(page)
    finally:
        booking_event_preparing.disconnect(dispatch_uid="test.prepare")
        booking_event_preparing.connect(
            real_prepare, dispatch_uid="integrations.on_booking_prepare"
        )
    assert not WebhookDelivery.objects.exists()


def test_an_endpoint_for_another_event_type_is_no_reason_to_look_again(page, host, receiver):
    endpoint_create(owner=host, url=receiver.url, events=["booking.cancelled"])
    with CaptureQueriesContext(connection) as captured:
        book(page)
    assert not any(ENDPOINTS in sql for sql in _after_lock(captured))
    assert not WebhookDelivery.objects.exists()


def test_a_preparation_answers_only_for_the_people_it_was_asked_about(host, teammate):
    prepared = booking_event_prepare(kind=BookingEventKind.CONFIRMED, host_ids=[host.pk])
    ahead = prepared.answers[receivers.on_booking_prepare]
    assert ahead.wanted is False
    assert ahead.host_ids == {host.pk}
    assert not ahead.host_ids.issuperset([host.pk, teammate.pk])
