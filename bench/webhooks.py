"""How fast booking events reach a webhook receiver: real Celery workers, a real receiver.

    .venv/bin/python -m bench.webhooks [--bookings 200] [--broker redis://…]

A throw-away product (temporary SQLite database and filesystem broker unless
``--broker`` is given) with one endpoint pointing at a local receiver that verifies
every request with the ``standardwebhooks`` library and de-duplicates on
``webhook-id``. Each scenario makes ``--bookings`` bookings and cancels half of
them (every cancel must arrive after its booking's created), then starts one
`celery worker` process (4 at a time; it also sends the booking emails) and
measures from the first delivery to the last (worker start-up left out): deliveries
per second, attempts per delivery, and that each event arrived exactly once and in
order.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta

from bench._calendar import ROOT, open_page, start_product

FAST = {
    "WEBHOOK_TIMEOUT": "2",
    "WEBHOOK_LEASE": "10",
    "WEBHOOK_RETRY_BASE": "1",
    "WEBHOOK_RETRY_CAP": "2",
}


def make_events(page, count: int) -> dict[str, list[str]]:
    from django.utils import timezone

    from booking.events import Actor
    from booking.selectors import page_slots
    from booking.services.bookings import Invitee, booking_cancel, booking_create

    now = timezone.now()
    slots = page_slots(page=page, start=now, end=now + timedelta(days=30), now=now)[:count]
    expected: dict[str, list[str]] = {}
    for number, slot in enumerate(slots):
        invitee = Invitee(name=f"Invitee {number}", email=f"i{number}@example.com", time_zone="UTC")
        booking = booking_create(page=page, start=slot.start, invitee=invitee)
        expected[str(booking.uuid)] = ["booking.created"]
        if number % 2:
            booking_cancel(booking=booking, actor=Actor.INVITEE)
            expected[str(booking.uuid)].append("booking.cancelled")
    return expected


def run(name: str, product, page, receiver, *, bookings: int, fault_rate: float) -> dict:
    from integrations.models import DeliveryState, WebhookDelivery

    receiver.fault_rate = fault_rate
    expected = make_events(page, bookings)
    started = time.monotonic()
    argv = [
        sys.executable, "-m", "celery", "-A", "scheduleonce", "worker", "-l", "WARNING",
        "-c", "4", "-n", "webhooks@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    worker = subprocess.Popen(
        argv, cwd=ROOT, env=product.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = started + 600
        while WebhookDelivery.objects.filter(state=DeliveryState.PENDING).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: not settled after 10 minutes")
            time.sleep(0.05)
    finally:
        worker.terminate()
        worker.wait(30)
    rows = list(WebhookDelivery.objects.all())
    times = [row.delivered_at for row in rows if row.delivered_at]
    wall = (max(times) - min(times)).total_seconds()
    got: dict[str, list[str]] = defaultdict(list)
    for event in receiver.events():
        got[event["data"]["id"]].append(event["type"])
    result = {
        "name": name,
        "events": len(rows),
        "seconds": wall,
        "per_second": len(rows) / wall,
        "attempts": sum(row.attempts for row in rows) / len(rows),
        "exact": dict(got) == expected and len(receiver.events()) == len(rows),
        "delivered": all(row.state == DeliveryState.DELIVERED for row in rows),
    }
    WebhookDelivery.objects.all().delete()
    page.bookings.all().delete()
    receiver.reset()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--broker", default="", help="e.g. redis://127.0.0.1:6379/6 (purged)")
    args = parser.parse_args()
    broker = {"CELERY_BROKER_URL": args.broker} if args.broker else {}
    with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as var_dir:
        product = start_product(var_dir, **FAST, **broker)
        if args.broker:
            from scheduleonce.celery import app

            app.control.purge()
        receiver = faulty_receiver()
        receiver.start()
        try:
            report(product, receiver, args.bookings)
        finally:
            receiver.stop()
            product.stop()


def report(product, receiver, bookings: int) -> None:
    from django.contrib.auth import get_user_model

    from integrations.models import EventType
    from integrations.webhooks import endpoint_create

    host = get_user_model().objects.create_user("bench@example.com", "bench-password-1")
    page = open_page(host, slug="bench")
    _endpoint, secret = endpoint_create(owner=host, url=receiver.url, events=EventType.values)
    receiver.secrets.append(secret)
    results = [
        run("all 200", product, page, receiver, bookings=bookings, fault_rate=0),
        run("30% 503", product, page, receiver, bookings=bookings, fault_rate=0.3),
    ]
    print(
        f"{'scenario':9} {'events':>7} {'seconds':>8} {'events/s':>9} {'attempts':>9} "
        f"{'once, in order':>15}"
    )
    for r in results:
        print(
            f"{r['name']:9} {r['events']:>7} {r['seconds']:>8.1f} {r['per_second']:>9.1f} "
            f"{r['attempts']:>9.2f} {'yes' if r['exact'] and r['delivered'] else 'NO':>15}"
        )


def _faulty_receiver_class():
    sys.path.insert(0, str(ROOT))
    from tests.support.webhook_receiver import WebhookReceiver

    class Faulty(WebhookReceiver):
        """Answers 503 to a seeded random share of requests."""

        fault_rate: float = 0.0
        rng = random.Random(7)

        def _next(self):
            return 503 if self.rng.random() < self.fault_rate else 200

        def reset(self) -> None:
            with self._lock:
                self.attempts.clear()
                self.accepted.clear()
                self.accepted_ids.clear()

    return Faulty


def faulty_receiver():
    """A receiver that fails on purpose (its class is made once tests/ is importable)."""
    return _faulty_receiver_class()()


if __name__ == "__main__":
    main()
