"""Whether an endpoint wants a new booking is read before the host's lock; the delivery
rows are still written in the booking's own transaction (a new booking's rows are
written before the lock is taken, and committed only once the slot is confirmed)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.events import BookingEventKind, booking_event_prepare
from booking.models import Booking
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


def test_a_host_with_an_endpoint_gets_its_delivery_read_again_in_the_transaction(
    page, host, receiver
):
    endpoint_create(owner=host, url=receiver.url, events=["booking.created"])
    with CaptureQueriesContext(connection) as captured:
        booking = book(page)
    sqls = [query["sql"] for query in captured.captured_queries]
    lookups = [n for n, sql in enumerate(sqls) if ENDPOINTS in sql]
    assert len(lookups) == 2  # ahead, then with the rows
    began = next(
        n for n, sql in enumerate(sqls) if sql in ("BEGIN", "SAVEPOINT") or "SAVEPOINT" in sql
    )
    assert lookups[0] < began < lookups[1]
    [delivery] = WebhookDelivery.objects.all()
    assert f'"id":"{booking.uuid}"' in delivery.body


def test_an_endpoint_deleted_while_the_booking_waits_gets_no_row(page, host, receiver, monkeypatch):
    """Found ahead, gone by the time the rows are written: the lookup with the rows
    decides (no delivery pointing at a deleted endpoint, no failed booking)."""
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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_endpoint_deleted_by_another_connection_while_the_booking_waits_on_the_lock(
    page, host, receiver, monkeypatch
):
    """The delivery row is written, the endpoint is deleted and committed elsewhere before
    the booking commits: the commit's foreign-key check fails, and the booking is made
    again lock first, without the delivery (the invitee still gets their booking)."""
    import threading

    from django.db import connections

    from booking.services import bookings

    endpoint, _ = endpoint_create(owner=host, url=receiver.url, events=["booking.created"])
    real_lock = bookings.host_lock
    deleted = []

    def delete_elsewhere() -> None:
        try:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
            deleted.append(True)
        finally:
            connections.close_all()

    def lock_after_the_delete(host_id: int) -> None:
        if not deleted and WebhookDelivery.objects.exists():  # our own, not committed
            other = threading.Thread(target=delete_elsewhere)
            other.start()
            other.join(timeout=20)
        real_lock(host_id)

    monkeypatch.setattr(bookings, "host_lock", lock_after_the_delete)
    booking = book(page)
    assert deleted == [True]
    assert Booking.objects.filter(pk=booking.pk).exists()
    assert not WebhookDelivery.objects.exists()
    assert not WebhookEndpoint.objects.exists()
