"""How soon the Graph sandbox tells an app that an event changed.

    .venv/bin/python -m bench.notifications [--changes 100] [--gap 0.2]

Runs the real TLS server and its delivery thread in this process on a throw-away
store (a temporary VAR_DIR), an app's webhook endpoint (a local HTTP server) and
one subscription to Adele's events, created over HTTPS with the validation
handshake. Then, one change at a time (``--gap`` seconds apart, so that each
travels alone), it times from the change to the moment the endpoint receives
the POST:

- changes made through Graph (``POST /me/events`` over HTTPS): the delivery
  thread is woken when the change commits;
- changes made by another process on the same store (what the people page of
  ``make run``'s web server does): the delivery thread finds them on its next
  poll (every 0.2 s).

Prints p50, p95 and the worst case for each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.graph_sandbox import ROOT, access_token, setup_django, start_sandbox

OTHER_PROCESS = """
import os, time
from datetime import UTC, datetime, timedelta
from graph_sandbox import control, demo
count, gap = int(os.environ["BENCH_CHANGES"]), float(os.environ["BENCH_GAP"])
start = datetime(2030, 3, 1, 9, tzinfo=UTC)
for i in range(count):
    moment = start + timedelta(hours=i)
    changed_at = time.time()
    event = control.event_add(demo.ADELE.address, subject=f"Busy {i}", start=moment,
                              end=moment + timedelta(minutes=30))
    print(event.id, changed_at, flush=True)
    time.sleep(gap)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100, help="changes per scenario")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between changes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="graph-sandbox-bench-") as var_dir:
        setup_django(var_dir)
        from graph_sandbox.subscriptions.delivery import DeliveryThread
        from tests.support.notification_receiver import start_receiver

        server, ca = start_sandbox()
        delivery = DeliveryThread().start()
        receiver, endpoint = start_receiver()
        try:
            report(server.port, ca, receiver, var_dir, args.changes, args.gap)
        finally:
            delivery.stop()
            endpoint.shutdown()
            server.shutdown()
            server.server_close()


def report(port: int, ca: str, receiver, var_dir: str, changes: int, gap: float) -> None:
    import requests

    base = f"https://localhost:{port}"
    session = requests.Session()
    session.trust_env = False
    session.verify = ca
    session.headers["Authorization"] = f"Bearer {access_token(base, ca)}"
    expires = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = session.post(
        f"{base}/v1.0/subscriptions",
        json={
            "changeType": "created,updated,deleted",
            "notificationUrl": receiver.notification_url,
            "resource": "me/events",
            "expirationDateTime": expires,
            "clientState": "bench",
        },
        timeout=30,
    )
    created.raise_for_status()
    results = [
        ("through Graph (POST /me/events)", through_graph(session, base, receiver, changes, gap)),
        ("by another process (people page)", by_other_process(receiver, var_dir, changes, gap)),
    ]
    print(f"{'change made':36} {'changes':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, latencies in results:
        latencies.sort()
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        print(
            f"{name:36} {len(latencies):>8} {statistics.median(latencies):>8.1f} "
            f"{p95:>8.1f} {latencies[-1]:>8.1f}"
        )


def through_graph(session, base: str, receiver, changes: int, gap: float) -> list[float]:
    latencies = []
    for i in range(changes):
        seen = len(receiver.items())
        body = {
            "subject": f"Booking {i}",
            "start": {"dateTime": "2030-02-01T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-02-01T09:30:00", "timeZone": "UTC"},
            "transactionId": str(uuid.uuid4()),
        }
        changed_at = time.time()
        session.post(f"{base}/v1.0/me/events", json=body, timeout=30).raise_for_status()
        receiver.wait_for_items(seen + 1, timeout=30)
        latencies.append((receiver.posts[-1].received_at - changed_at) * 1000)
        time.sleep(gap)
    return latencies


def by_other_process(receiver, var_dir: str, changes: int, gap: float) -> list[float]:
    env = {
        **os.environ,
        "VAR_DIR": var_dir,
        "DEBUG": "1",
        "GRAPH_SANDBOX": "1",
        "BENCH_CHANGES": str(changes),
        "BENCH_GAP": str(gap),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", OTHER_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    changed = dict(line.split() for line in done.stdout.strip().splitlines()[-changes:])
    wanted = set(changed)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        arrived = {
            item["resourceData"]["id"]: post.received_at
            for post in receiver.posts
            for item in post.value
            if item["resourceData"]["id"] in wanted
        }
        if len(arrived) == len(wanted):
            break
        time.sleep(0.1)
    return [(arrived[i] - float(t)) * 1000 for i, t in changed.items() if i in arrived]


if __name__ == "__main__":
    main()
