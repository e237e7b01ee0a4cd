"""Real Celery workers deliver every event exactly once, in order, through receiver outages.

The receiver verifies each request with ``standardwebhooks`` and de-duplicates on
``webhook-id``, as the specification asks receivers to; "exactly once" is what it
keeps after that.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from booking.events import Actor
from booking.services.bookings import Invitee, booking_cancel, booking_create, booking_reschedule
from integrations.models import DeliveryState, WebhookDelivery
from tests.support.booking import at, workday
from tests.support.worker import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis]

FAST = {
    "WEBHOOK_TIMEOUT": "1",
    "WEBHOOK_LEASE": "4",
    "WEBHOOK_RETRY_BASE": "1",
    "WEBHOOK_RETRY_CAP": "2",
    "OUTBOX_REQUEUE_AFTER": "2",
    "OUTBOX_SWEEP_INTERVAL": "1",
}


def make_events(page) -> dict[str, list[str]]:
    """Four bookings; two moved, two cancelled (one after moving): their expected events."""
    day = workday("Europe/London")
    expected: dict[str, list[str]] = {}
    bookings = []
    for hour in (9, 10, 11, 12):
        booking = booking_create(
            page=page,
            start=at(day, hour),
            invitee=Invitee(name="Dana", email="dana@example.com", time_zone="Europe/Paris"),
        )
        bookings.append(booking)
        expected[str(booking.uuid)] = ["booking.created"]
    for booking, hour in ((bookings[0], 14), (bookings[1], 15)):
        booking_reschedule(booking=booking, start=at(day, hour), actor=Actor.HOST)
        expected[str(booking.uuid)].append("booking.rescheduled")
    for booking in (bookings[1], bookings[2]):
        booking_cancel(booking=booking, actor=Actor.INVITEE)
        expected[str(booking.uuid)].append("booking.cancelled")
    return expected


def received(receiver) -> dict[str, list[str]]:
    by_booking: dict[str, list[str]] = defaultdict(list)
    for event in receiver.events():
        by_booking[event["data"]["id"]].append(event["type"])
    return dict(by_booking)


def assert_exactly_once_in_order(receiver, expected: dict[str, list[str]]) -> None:
    total = sum(len(types) for types in expected.values())
    events = receiver.wait_for(total, timeout=5)
    assert len(events) == total
    assert received(receiver) == expected
    for booking_id in expected:
        versions = [e["data"]["version"] for e in events if e["data"]["id"] == booking_id]
        assert versions == sorted(versions)
    assert all(attempt.verified for attempt in receiver.attempts)
    rows = WebhookDelivery.objects.all()
    assert {row.state for row in rows} == {DeliveryState.DELIVERED}
    assert set(receiver.accepted_ids) == {row.message_id for row in rows}


def all_delivered() -> bool:
    rows = list(WebhookDelivery.objects.values_list("state", flat=True))
    return bool(rows) and all(state == DeliveryState.DELIVERED for state in rows)


def test_every_event_arrives_once_and_in_order_through_5xx_429_and_timeouts(
    page, endpoint, receiver, worker_factory, beat_factory
):
    receiver.slow_seconds = 2  # longer than WEBHOOK_TIMEOUT: the sender gives up, then retries
    receiver.script = [503, 503, "slow", 500, (429, "1"), 503, "slow", 502, 503, 503, 500]
    worker = worker_factory(concurrency=2, **FAST)
    beat_factory(**FAST)
    expected = make_events(page)

    wait_until(all_delivered, timeout=120, message=worker.output())
    assert_exactly_once_in_order(receiver, expected)
    assert len(receiver.attempts) > 8 + 5  # the outages really made retries
    assert len(receiver.accepted_ids) < len([a for a in receiver.attempts if a.verified])


def test_a_receiver_down_while_a_worker_is_killed_still_gets_everything_once(
    page, endpoint, receiver, worker_factory, beat_factory
):
    receiver.stop()  # connections refused until it comes back on the same port
    first = worker_factory(concurrency=2, **FAST)
    expected = make_events(page)

    def failing_and_waiting() -> bool:
        retried = WebhookDelivery.objects.filter(attempts__gte=2, state=DeliveryState.PENDING)
        return retried.count() >= 2

    wait_until(failing_and_waiting, timeout=60, message=first.output())
    first.kill()  # it held retries in countdown: the broker only hands them out much later
    assert not WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).exists()

    receiver.start()
    second = worker_factory(concurrency=2, **FAST)
    beat_factory(**FAST)  # its sweeper re-queues what the killed worker held
    wait_until(all_delivered, timeout=120, message=second.output())
    assert_exactly_once_in_order(receiver, expected)
    # Retries the killed worker held as countdowns come back through the sweeper (its
    # log says "sweep webhook deliveries: re-queued"), unless the kill found none held:
    # either way every event arrived once and in order.
