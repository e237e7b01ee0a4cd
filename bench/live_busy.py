"""Busy time in seconds: change → slot withdrawn, and what a quiet calendar costs Graph.

    .venv/bin/python -m bench.live_busy [--changes 100] [--hours 48] [--broker redis://…]

A throw-away product (SQLite) with the Graph sandbox, its delivery thread and the
product's web server (Django's threaded server, the webhook and the slots API) in
this process, and one real `celery worker` process. One host, one page reading
Adele's calendar.

1. **Latency**: ``--changes`` times, a busy event is added to the calendar (as
   Outlook would: through the sandbox's store, whose change the delivery thread
   notifies); the public slots API is polled every 20 ms until the slot is gone.
   Prints p50, p95 and the worst, and how long of it was the sandbox's delivery.
2. **Graph requests per quiet calendar and hour**, before (polling every
   ``CALENDAR_SYNC_INTERVAL``, 5 minutes, no notifications) and after (notifications
   live, polling every ``CALENDAR_SYNC_INTERVAL_LIVE``, 30 minutes, plus renewals).
   Beat's cycle is replayed ``--hours`` long without waiting: each 5-minute tick runs
   what beat would (``connections_due``, then the sync of each due account), and then
   every stored time (ours and the sandbox's subscription expiry) is moved 5 minutes
   into the past, as if the clock had moved on. Counts the calls to ``/v1.0``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

from bench._calendar import ROOT, connect_host, open_page, start_product

TICK = timedelta(minutes=5)


def start_web():
    """The product's web side in a thread: what Graph's notifications and invitees reach."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=True)
    server.daemon_threads = True
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    argv = [
        sys.executable, "-m", "celery", "-A", "scheduleonce", "worker", "-l", "WARNING",
        "-c", "2", "-n", "livebusy@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def free_slots(session, url: str, day: str) -> set[str]:
    answer = session.get(
        f"{url}/api/booking-pages/bench/slots",
        params={"start": day, "end": day, "tz": "UTC"},
        timeout=10,
    )
    answer.raise_for_status()
    return {slot["start"] for slot in answer.json()["slots"]}


def latency(url: str, changes: int) -> dict:
    import requests

    from graph_sandbox import control, demo

    session = requests.Session()
    session.trust_env = False
    first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    candidates = (first + timedelta(days=10, minutes=15 * n) for n in range(10_000))
    took, delivered = [], []
    for number in range(changes):
        for start in candidates:
            key = start.isoformat()
            if key in free_slots(session, url, start.date().isoformat()):
                break
        day = start.date()
        before = control.delivery_log()[-1].id if control.delivery_log() else 0
        started = time.perf_counter()
        control.event_add(
            demo.ADELE.address,
            subject=f"Change {number}",
            start=start,
            end=start + timedelta(minutes=15),
        )
        while key in free_slots(session, url, day.isoformat()):
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"change {number}: still offered after 60 s")
            time.sleep(0.02)
        took.append(time.perf_counter() - started)
        posts = [d for d in control.delivery_log(after_id=before) if d.kind == "change"]
        if posts and posts[0].age_ms is not None:
            delivered.append(posts[0].age_ms / 1000)
    return {"took": took, "delivered": delivered}


def shift_stored_times(by: timedelta) -> None:
    """Every stored time that beat's decisions read moves ``by`` into the past."""
    from django.db.models import F

    from calendars.models import Calendar, CalendarSyncState, ChangeSubscription
    from graph_sandbox import store
    from graph_sandbox.models import Subscription

    Calendar.objects.exclude(last_synced_at=None).update(last_synced_at=F("last_synced_at") - by)
    CalendarSyncState.objects.exclude(synced_until=None).update(
        synced_from=F("synced_from") - by,
        synced_until=F("synced_until") - by,
        full_synced_at=F("full_synced_at") - by,
    )
    ChangeSubscription.objects.exclude(expires_at=None).update(
        expires_at=F("expires_at") - by, renew_at=F("renew_at") - by
    )
    with store.writing():
        Subscription.objects.update(expires_at=F("expires_at") - by)


def quiet_hours(connection, hours: int) -> dict:
    """Replay beat for ``hours`` on a calendar nobody changes; Graph calls by kind."""
    from calendars.services.busy_sync import connection_sync, connections_due
    from graph_sandbox import control

    first = control.request_log()[-1].id
    syncs = 0
    for _tick in range(int(timedelta(hours=hours) / TICK)):
        for connection_id in connections_due():
            assert connection_id == connection.pk
            connection_sync(connection_id=connection_id)
            syncs += 1
        shift_stored_times(TICK)
    calls = [c for c in control.request_log(after_id=first) if c.path.startswith("/v1.0/")]
    kinds: dict[str, int] = {}
    for call in calls:
        kind = f"{call.method} {'subscriptions' if 'subscriptions' in call.path else 'delta'}"
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"syncs": syncs, "calls": len(calls), "kinds": kinds, "hours": hours}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--broker", default="", help="e.g. redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-live-busy-") as var_dir:
        extra = {"CELERY_BROKER_URL": args.broker} if args.broker else {}
        product = start_product(var_dir, **extra)
        from django.conf import settings

        from graph_sandbox import demo
        from graph_sandbox.subscriptions.delivery import DeliveryThread

        web, url = start_web()
        settings.SITE_URL = url
        delivery = DeliveryThread().start()
        host, connection = connect_host(email="host@example.com", address=demo.ADELE.address)
        open_page(host, slug="bench")
        from calendars.models import ChangeSubscription
        from calendars.services.busy_sync import connection_sync

        connection_sync(connection_id=connection.pk)
        assert ChangeSubscription.objects.get(pk=connection.pk).remote_id, "not subscribed"
        worker = start_worker({**product.env, "SITE_URL": url, **extra})
        try:
            time.sleep(3)  # the worker's start-up is not what is measured
            measured = latency(url, args.changes)
        finally:
            worker.terminate()
            worker.wait(30)
        delivery.stop()
        after = quiet_hours(connection, args.hours)
        settings.CALENDAR_NOTIFICATIONS = False
        ChangeSubscription.objects.all().delete()
        before = quiet_hours(connection, args.hours)
        web.shutdown()
        product.stop()
    report(measured, before=before, after=after)


def report(measured: dict, *, before: dict, after: dict) -> None:
    took = sorted(measured["took"])
    delivered = sorted(measured["delivered"])

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    print(f"change -> slot withdrawn, {len(took)} changes, one at a time:")
    print(
        f"  p50 {statistics.median(took):.2f} s  p95 {pct(took, 0.95):.2f} s  "
        f"worst {took[-1]:.2f} s"
    )
    if delivered:
        print(
            f"  of which the sandbox's delivery: p50 {statistics.median(delivered):.2f} s  "
            f"p95 {pct(delivered, 0.95):.2f} s"
        )
    for name, run in (("before (polling every 5 min)", before), ("after (notifications)", after)):
        per_hour = run["calls"] / run["hours"]
        print(
            f"{name}: {run['calls']} Graph calls in {run['hours']} quiet hours "
            f"({per_hour:.2f}/hour), {run['syncs']} syncs, {run['kinds']}"
        )


if __name__ == "__main__":
    main()
