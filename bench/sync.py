"""What a busy-time sync cycle costs: Graph requests and time, first and in steady state.

    .venv/bin/python -m bench.sync [--events 500]

A throw-away product with the Graph sandbox in this process; one host whose
page reads two calendars (main + "retrieve busy time"), each holding
``--events`` events over the next 60 days. Runs the sync service (what the
worker's task runs) for: the first full read, a cycle with no changes (the
steady state: one delta request per calendar), a cycle after 10 changes, and a
full re-read after the provider forgot the delta links (410).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import timedelta

from bench._calendar import connect_host, open_page, start_product


def seed(address: str, calendar: str, count: int) -> None:
    from django.utils import timezone

    from graph_sandbox import control

    rng = random.Random(count)
    now = timezone.now()
    for number in range(count):
        start = now + timedelta(minutes=rng.randrange(60, 60 * 24 * 59))
        control.event_add(
            address,
            subject=f"Busy {number}",
            start=start,
            end=start + timedelta(minutes=rng.choice((15, 30, 60))),
            show_as=rng.choice(("busy", "busy", "tentative", "oof", "free")),
            calendar=calendar,
        )


def cycle(name: str, connection) -> dict:
    from calendars.models import BusyInterval
    from calendars.services.busy_sync import connection_sync
    from graph_sandbox import control

    before = control.request_log()[-1].id
    started = time.perf_counter()
    outcome = connection_sync(connection_id=connection.pk)
    wall = time.perf_counter() - started
    calls = [c for c in control.request_log(after_id=before) if c.path.startswith("/v1.0/")]
    assert outcome.status == "synced", outcome
    return {
        "name": name,
        "requests": len(calls),
        "ms": wall * 1000,
        "graph_ms": sum(c.latency_ms for c in calls),
        "intervals": BusyInterval.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="events per calendar")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as var_dir:
        product = start_product(var_dir)
        try:
            report(args.events)
        finally:
            product.stop()


def report(events: int) -> None:
    from booking.services.pages import page_calendars_set
    from calendars.models import Calendar
    from graph_sandbox import control, demo

    address = demo.ADELE.address
    for calendar in ("Calendar", "Personal"):
        seed(address, calendar, events)
    host, connection = connect_host(email="bench@example.com", address=address)
    page = open_page(host, slug="bench")
    personal = Calendar.objects.get(connection=connection, name="Personal")
    page_calendars_set(
        page=page, main_calendar=page.main_calendar, uses={personal.pk: (True, False)}
    )
    results = [cycle("first (full read)", connection), cycle("no changes", connection)]
    for number in range(10):
        start = control.clock_now() + timedelta(days=3, hours=number)
        control.event_add(
            address, subject=f"New {number}", start=start, end=start + timedelta(minutes=30)
        )
    results.append(cycle("10 changes", connection))
    control.delta_links_expire()
    results.append(cycle("links expired (410)", connection))
    results.append(cycle("no changes", connection))
    print(f"two calendars of {events} events each (60 days), 200 events per delta page")
    print(f"{'cycle':22} {'requests':>9} {'ms':>8} {'Graph ms':>9} {'intervals':>10}")
    for r in results:
        print(
            f"{r['name']:22} {r['requests']:>9} {r['ms']:>8.0f} {r['graph_ms']:>9.0f} "
            f"{r['intervals']:>10}"
        )


if __name__ == "__main__":
    main()
