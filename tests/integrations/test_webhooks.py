"""Signed webhooks reach a real receiver that verifies them with ``standardwebhooks``."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from booking.events import Actor
from booking.services.bookings import Invitee, booking_cancel, booking_create, booking_reschedule
from integrations import signing
from integrations.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import (
    delivery_deliver,
    delivery_resend,
    endpoint_rotate_secret,
    endpoint_secrets,
    endpoint_send_test,
)
from outbox.outcomes import Status
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db


def book(page, hour: int = 10):
    return booking_create(
        page=page,
        start=at(workday("Europe/London"), hour),
        invitee=Invitee(
            name="Dana",
            email="dana@example.com",
            time_zone="Asia/Kolkata",
            answers=[{"question": "Company", "answer": "Acme"}],
        ),
    )


def later(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)


def test_secrets_follow_standard_webhooks_and_sign_what_the_library_verifies():
    secret = signing.secret_generate()
    assert secret.startswith("whsec_")
    body = '{"type":"x"}'
    now = int(timezone.now().timestamp())
    headers = signing.headers(secrets_=[secret], message_id="msg_1", timestamp=now, body=body)
    assert Webhook(secret).verify(body, headers) == {"type": "x"}


def test_a_booking_reaches_the_receiver_signed_with_its_public_fields(
    page, endpoint, receiver, django_capture_on_commit_callbacks, tasks_in_process
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(page)

    [event] = receiver.wait_for(1)
    assert event["type"] == "booking.created"
    data = event["data"]
    assert data["id"] == str(booking.uuid)
    assert data["status"] == "confirmed"
    assert data["start"].endswith(("+00:00", "+01:00"))  # London, with its offset
    assert data["invitee"] == {
        "name": "Dana",
        "email": "dana@example.com",
        "time_zone": "Asia/Kolkata",
    }
    assert data["answers"] == [{"question": "Company", "answer": "Acme"}]
    assert data["page"]["slug"] == "alice-intro"
    assert data["host"]["email"] == "alice@example.com"
    assert data["cancel_url"].startswith("http")
    assert data["changed_by"] == "invitee"
    [attempt] = receiver.attempts
    delivery = WebhookDelivery.objects.get()
    assert attempt.message_id == delivery.message_id
    assert "cookie" not in attempt.headers
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.response_status == 200
    assert delivery.response_ms is not None
    # No secret of any kind travels in the body.
    assert "whsec_" not in attempt.body.decode()
    assert "token" not in json.dumps(data).lower()


def test_deliveries_are_written_in_the_bookings_transaction(page, endpoint, receiver):
    book(page)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.event_type == "booking.created"
    assert receiver.attempts == []  # nothing is posted inside the booking's transaction


def test_endpoints_get_only_their_owners_events_they_subscribed_to(
    page, endpoint, receiver, teammate
):
    from integrations.webhooks import endpoint_create

    endpoint_create(owner=teammate, url=receiver.url, events=["booking.created"])
    endpoint.events = ["booking.cancelled"]
    endpoint.save()
    booking = book(page)
    assert not WebhookDelivery.objects.exists()  # Alice's endpoint skips created; Bob's not hers
    booking_cancel(booking=booking, actor=Actor.HOST)
    assert list(WebhookDelivery.objects.values_list("endpoint", "event_type")) == [
        (endpoint.pk, "booking.cancelled")
    ]


def test_a_5xx_is_retried_with_the_same_webhook_id_and_seen_once(page, endpoint, receiver):
    receiver.script = [503, 502]
    book(page)
    delivery = WebhookDelivery.objects.get()

    first = delivery_deliver(delivery_id=delivery.pk)
    assert first.status == Status.RETRY
    assert 0 <= first.retry_in <= 10
    delivery.refresh_from_db()
    assert delivery.last_error == "HTTP 503"
    assert delivery_deliver(delivery_id=delivery.pk, now=later(1)).status == Status.RETRY
    assert delivery_deliver(delivery_id=delivery.pk, now=later(60)).status == Status.SYNCED

    assert {a.message_id for a in receiver.attempts} == {delivery.message_id}
    assert len(receiver.attempts) == 3
    assert all(a.verified for a in receiver.attempts)
    assert len(receiver.events()) == 1


def test_retry_after_of_a_429_is_honoured(page, endpoint, receiver):
    receiver.script = [(429, "120")]
    book(page)
    outcome = delivery_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    assert outcome.status == Status.RETRY
    assert outcome.retry_in >= 120


@pytest.mark.parametrize("status", [400, 401, 404, 302])
def test_other_4xx_and_redirects_fail_at_once(page, endpoint, receiver, status):
    receiver.script = [status]
    book(page)
    delivery = WebhookDelivery.objects.get()
    assert delivery_deliver(delivery_id=delivery.pk).status == Status.FAILED
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.response_status == status
    assert len(receiver.attempts) == 1


def test_a_receiver_answering_410_gone_has_its_endpoint_switched_off_at_once(
    page, endpoint, receiver
):
    # Standard Webhooks: 410 means the receiver wants no more; the sender disables it.
    receiver.script = [410]
    book(page)
    book(page, hour=11)
    first, second = WebhookDelivery.objects.order_by("pk")
    assert delivery_deliver(delivery_id=first.pk).status == Status.FAILED
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "410" in endpoint.disabled_reason
    second.refresh_from_db()
    assert second.state == DeliveryState.FAILED
    assert len(receiver.attempts) == 1
    [email] = mail.outbox
    assert "410 Gone" in email.body
    book(page, hour=12)  # nothing more is written for it
    assert WebhookDelivery.objects.count() == 2


def test_408_is_retried(page, endpoint, receiver):
    receiver.script = [408]
    book(page)
    assert delivery_deliver(delivery_id=WebhookDelivery.objects.get().pk).status == Status.RETRY


def test_a_receiver_that_is_too_slow_times_out_and_is_tried_again(
    page, endpoint, receiver, settings
):
    settings.WEBHOOK_TIMEOUT = 1
    receiver.slow_seconds = 2
    receiver.script = ["slow"]
    book(page)
    delivery = WebhookDelivery.objects.get()

    assert delivery_deliver(delivery_id=delivery.pk).status == Status.RETRY
    delivery.refresh_from_db()
    assert delivery.last_error == "timed out"
    assert delivery.response_status is None
    assert delivery_deliver(delivery_id=delivery.pk, now=later(60)).status == Status.SYNCED
    # The slow answer did arrive; the receiver saw the id twice and kept the event once.
    receiver.wait_for(1)
    assert len(receiver.attempts) == 2
    assert len(receiver.events()) == 1


def test_retries_stop_after_the_retry_window(page, endpoint, receiver):
    receiver.script = [503]
    book(page)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(retry_until=timezone.now())
    assert delivery_deliver(delivery_id=delivery.pk).status == Status.FAILED
    delivery.refresh_from_db()
    assert "gave up after 1 attempts" in delivery.last_error


def test_a_cancellation_waits_for_its_booking_created(
    page, endpoint, receiver, django_capture_on_commit_callbacks, tasks_in_process
):
    receiver.script = [(503, "120")]  # the created event's first attempt fails, for a while
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(page)
    created = WebhookDelivery.objects.get()
    assert created.state == DeliveryState.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_reschedule(
            booking=booking, start=at(workday("Europe/London"), 14), actor=Actor.HOST
        )
        booking_cancel(booking=booking, actor=Actor.HOST)
    # Queued, but neither went out before "created".
    assert len(receiver.attempts) == 1
    assert WebhookDelivery.objects.filter(state=DeliveryState.PENDING).count() == 3

    # The retry of "created" goes out, then wakes the next in line, and so on.
    assert delivery_deliver(delivery_id=created.pk, now=later(60)).status == Status.SYNCED
    events = receiver.wait_for(3)
    assert [e["type"] for e in events] == [
        "booking.created",
        "booking.rescheduled",
        "booking.cancelled",
    ]
    assert [e["data"]["version"] for e in events] == [0, 1, 2]
    assert events[1]["data"]["rescheduled_from"] is not None


def test_rotation_signs_with_both_secrets_for_a_day(page, endpoint, receiver):
    old = receiver.secrets[0]
    new = endpoint_rotate_secret(endpoint=endpoint)
    assert new != old
    assert new.startswith("whsec_")
    assert endpoint_secrets(endpoint=endpoint) == [new, old]
    assert endpoint_secrets(endpoint=endpoint, now=later(24 * 60 + 1)) == [new]
    receiver.secrets[:] = [old]  # a receiver not yet updated still verifies
    book(page)
    delivery_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    assert receiver.attempts[0].verified
    assert len(receiver.attempts[0].headers["webhook-signature"].split(" ")) == 2
    receiver.secrets[:] = [new]  # nor does one that switched already
    delivery_resend(delivery=WebhookDelivery.objects.get())
    delivery_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    assert receiver.attempts[1].verified
    stored = WebhookEndpoint.objects.get()
    assert "whsec_" not in stored.secret_encrypted + stored.previous_secret_encrypted


def test_an_endpoint_failing_for_five_days_is_disabled_and_its_owner_emailed(
    page, endpoint, receiver
):
    receiver.script = [503]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=5, seconds=1)
    )
    book(page)
    book(page, hour=11)
    first, second = WebhookDelivery.objects.order_by("pk")
    assert delivery_deliver(delivery_id=first.pk).status == Status.FAILED
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_at is not None
    second.refresh_from_db()
    assert second.state == DeliveryState.FAILED
    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert endpoint.url in email.body
    # Nothing more is written for a disabled endpoint.
    book(page, hour=12)
    assert WebhookDelivery.objects.count() == 2


def test_a_success_clears_the_failing_clock(page, endpoint, receiver):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=later(-60))
    book(page)
    delivery_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert endpoint.is_active


def test_resend_sends_the_same_message_again(page, endpoint, receiver):
    book(page)
    delivery = WebhookDelivery.objects.get()
    delivery_deliver(delivery_id=delivery.pk)
    assert delivery_resend(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert delivery_deliver(delivery_id=delivery.pk).status == Status.SYNCED
    assert [a.message_id for a in receiver.attempts] == [delivery.message_id] * 2
    assert len(receiver.events()) == 1  # the receiver de-duplicates


def test_send_test_event(endpoint, receiver):
    delivery = endpoint_send_test(endpoint=endpoint)
    delivery_deliver(delivery_id=delivery.pk)
    [event] = receiver.events()
    assert event["type"] == "webhook.test"


def test_the_sweeper_requeues_a_lost_delivery(page, endpoint, settings):
    from integrations.webhooks import deliveries_sweep

    settings.OUTBOX_REQUEUE_AFTER = 60
    book(page)
    delivery = WebhookDelivery.objects.get()
    assert deliveries_sweep(timezone.now()) == []  # queued just now
    assert deliveries_sweep(later(2)) == [delivery.pk]


def test_calendar_disconnection_and_reconnection_are_delivered(
    host, endpoint, receiver, django_capture_on_commit_callbacks, tasks_in_process
):
    from calendars.models import CalendarConnection
    from calendars.signals import connection_disconnected, connection_reconnected

    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    common = {"connection_id": connection.pk, "host_id": host.pk, "provider": "office365"}
    with django_capture_on_commit_callbacks(execute=True):
        connection_disconnected.send(sender=None, reason="expired", **common)
        connection_reconnected.send(sender=None, **common)
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == ["calendar.disconnected", "calendar.reconnected"]
    assert events[0]["data"]["reason"] == "expired"
    assert events[0]["data"]["account_email"] == "alice@contoso.com"


def test_calendar_connection_deliveries_commit_with_the_change(
    host, endpoint, django_capture_on_commit_callbacks
):
    """The delivery row is written in the disconnecting transaction: a crash between its
    commit and the commit callbacks (none of them run here) still leaves it for the
    sweeper; a rollback leaves neither the disconnection nor the row."""
    from django.db import transaction

    from calendars.models import Calendar, CalendarConnection, ConnectionStatus
    from calendars.services.connections import connection_disconnect

    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    Calendar.objects.create(connection=connection, remote_id="A", name="Calendar")
    written_inside = []

    def disconnect_then_fail() -> None:
        with transaction.atomic():
            connection_disconnect(connection=connection, reason="expired")
            written_inside.append(WebhookDelivery.objects.count())
            raise RuntimeError("the transaction fails after the signal")

    with pytest.raises(RuntimeError):
        disconnect_then_fail()
    assert written_inside == [1]
    assert not WebhookDelivery.objects.exists()
    assert CalendarConnection.objects.get(pk=connection.pk).status == ConnectionStatus.CONNECTED

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        connection_disconnect(connection=connection, reason="expired")
    (row,) = WebhookDelivery.objects.filter(event_type="calendar.disconnected")
    assert json.loads(row.body)["data"]["account_email"] == "alice@contoso.com"
    assert callbacks  # the task would be queued on commit; the row is there without it


def test_an_absurd_retry_after_gives_up_instead_of_breaking(page, endpoint, receiver):
    receiver.script = [(503, "9" * 30)]
    book(page)
    assert delivery_deliver(delivery_id=WebhookDelivery.objects.get().pk).status == Status.FAILED


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        ("9" * 30, 7 * 24 * 3600.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(header, expected):
    from integrations.outbound import RETRY_AFTER_LIMIT
    from outbox.backoff import retry_after_seconds

    assert retry_after_seconds(header, limit=RETRY_AFTER_LIMIT) == expected


def test_secrets_and_api_tokens_are_redacted_from_logs():
    from integrations.tokens import TOKEN_PREFIX
    from ops.logging import redact

    secret = signing.secret_generate()
    token = TOKEN_PREFIX + "abcdefghijklmnop_qrstu-vwxyz"
    text = redact(f"endpoint secret {secret} and token {token} leaked")
    assert secret not in text
    assert token not in text
    assert text.count("[redacted]") == 2


def test_a_booking_rolled_back_leaves_no_delivery(page, endpoint):
    from django.db import transaction

    class Undo(Exception):
        pass

    seen = []

    def book_then_fail() -> None:
        with transaction.atomic():
            book(page)
            seen.append(WebhookDelivery.objects.count())  # written with the booking…
            raise Undo

    with pytest.raises(Undo):
        book_then_fail()
    assert seen == [1]
    assert not WebhookDelivery.objects.exists()  # …and gone with it


def test_an_unreadable_secret_fails_the_delivery_and_a_rotation_heals_it(
    page, endpoint, receiver, settings
):
    from cryptography.fernet import Fernet

    book(page)
    first = WebhookDelivery.objects.get()
    keys = settings.TOKEN_ENCRYPTION_KEYS
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    assert delivery_deliver(delivery_id=first.pk).status == Status.FAILED
    first.refresh_from_db()
    assert "rotate it" in first.last_error
    new = endpoint_rotate_secret(endpoint=WebhookEndpoint.objects.get())
    receiver.secrets[:] = [new]
    assert delivery_resend(delivery=first)
    assert delivery_deliver(delivery_id=first.pk).status == Status.SYNCED
    settings.TOKEN_ENCRYPTION_KEYS = keys


def test_the_owner_is_emailed_in_their_language(page, endpoint, receiver, host):
    host.language = "de"
    host.save()
    receiver.script = [503]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=6)
    )
    book(page)
    delivery_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    [email] = mail.outbox
    assert email.subject != "Your webhook endpoint was turned off"
