"""How fast bookings become events in Office 365: real Celery workers against the sandbox.

    .venv/bin/python -m bench.push [--bookings 200]

A throw-away product (temporary SQLite database and filesystem broker, the Graph
sandbox's TLS server in this process with Outlook's 4-concurrent-calls limit
on) and one connected mailbox. For each scenario it books ``--bookings`` slots
through the booking service (each commit queues its push), then starts real
`celery worker` processes and measures from the moment they are ready until
every booking is an event: events per second, Graph calls per event, and the
calls refused for going over the mailbox's concurrency (should be none).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

from bench._calendar import ROOT, connect_host, open_page, start_product

FAULTS = ("429", "503", "drop", "drop_after")


def book(page, count: int) -> None:
    from django.utils import timezone

    from booking.selectors import page_slots
    from booking.services.bookings import Invitee, booking_create

    now = timezone.now()
    slots = page_slots(page=page, start=now, end=now + timedelta(days=30), now=now)[:count]
    for number, slot in enumerate(slots):
        invitee = Invitee(name=f"Invitee {number}", email=f"i{number}@example.com", time_zone="UTC")
        booking_create(page=page, start=slot.start, invitee=invitee)


def start_workers(env: dict[str, str], *, processes: int, concurrency: int) -> list:
    workers = []
    for number in range(processes):
        argv = [
            sys.executable, "-m", "celery", "-A", "scheduleonce", "worker", "-l", "WARNING",
            "-c", str(concurrency), "-n", f"bench{number}@%h", "--without-gossip",
            "--without-mingle",
        ]  # fmt: skip
        workers.append(
            subprocess.Popen(
                argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    return workers


def run(name: str, product, page, *, bookings: int, processes: int, concurrency: int) -> dict:
    """Book, then let the workers drain the pushes; timed from the first event made to the
    last row settled (worker start-up is left out)."""
    from django.db.models import Max

    from calendars.models import PushedEvent, PushState
    from graph_sandbox import control, demo

    first_log = control.request_log()[-1].id if control.request_log() else 0
    book(page, bookings)
    workers = start_workers(product.env, processes=processes, concurrency=concurrency)
    try:
        deadline = time.monotonic() + 600
        while PushedEvent.objects.exclude(state=PushState.SYNCED).exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: not settled after 10 minutes")
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    made = control.events(demo.ADELE.address, calendar="Calendar")
    first = min(e.created_at for e in made if e.transaction_id)
    last = PushedEvent.objects.aggregate(last=Max("updated_at"))["last"]
    wall = (last - first).total_seconds()
    calls = [c for c in control.request_log(after_id=first_log) if c.path.startswith("/v1.0/")]
    events = PushedEvent.objects.count()
    for event in made:
        if event.transaction_id:
            control.event_delete(demo.ADELE.address, event.id)
    PushedEvent.objects.all().delete()
    page.bookings.all().delete()
    return {
        "name": name,
        "processes": f"{processes}x{concurrency}",
        "events": events,
        "seconds": wall,
        "per_second": events / wall,
        "calls_per_event": len(calls) / events,
        "faults": sum(1 for c in calls if c.fault and c.fault != "concurrency"),
        "refused": sum(1 for c in calls if c.fault == "concurrency"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument(
        "--broker",
        default="",
        help="e.g. redis://127.0.0.1:6379/6 (purged first); default: a temporary filesystem broker",
    )
    args = parser.parse_args()
    broker = {"CELERY_BROKER_URL": args.broker} if args.broker else {}
    with tempfile.TemporaryDirectory(prefix="push-bench-") as var_dir:
        product = start_product(
            var_dir,
            CALENDAR_RETRY_BASE="1",
            CALENDAR_RETRY_CAP="4",
            CALENDAR_TASK_LEASE="30",
            **broker,
        )
        if args.broker:
            from scheduleonce.celery import app

            app.control.purge()
        try:
            report(product, args.bookings)
        finally:
            product.stop()


def report(product, bookings: int) -> None:
    from graph_sandbox import control, demo

    host, _ = connect_host(email="bench@example.com", address=demo.ADELE.address)
    page = open_page(host, slug="bench")
    results = [
        run("no faults", product, page, bookings=bookings, processes=1, concurrency=4),
        run("no faults", product, page, bookings=bookings, processes=2, concurrency=4),
    ]
    control.faults_set(kinds=FAULTS, fraction=0.3, retry_after=1, seed=1)
    results.append(run("30% faults", product, page, bookings=bookings, processes=2, concurrency=4))
    control.faults_clear()
    print(
        f"{'scenario':12} {'workers':>8} {'events':>7} {'seconds':>8} {'events/s':>9} "
        f"{'calls/event':>12} {'faults':>7} {'over limit':>11}"
    )
    for r in results:
        print(
            f"{r['name']:12} {r['processes']:>8} {r['events']:>7} {r['seconds']:>8.1f} "
            f"{r['per_second']:>9.1f} {r['calls_per_event']:>12.2f} {r['faults']:>7} "
            f"{r['refused']:>11}"
        )


if __name__ == "__main__":
    main()
