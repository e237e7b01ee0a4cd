"""How fast the Graph sandbox answers, alone and under 8 concurrent clients.

    .venv/bin/python -m bench.graph_sandbox [--requests 400]

Runs the real TLS server in this process on a throw-away store (a temporary
VAR_DIR), signs a demo user in through the token endpoint, then measures over
HTTPS with keep-alive sessions:

- sequential ``GET /me/calendars``;
- 8 threads reading ``calendarView`` (50 events in the window);
- 8 threads creating events (distinct ``transactionId``), the write path that
  must never fail with "database is locked";
- 8 threads on one mailbox with Outlook's limit of 4 concurrent calls on.

Prints latency percentiles, throughput and every non-2xx status seen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(var_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="scheduleonce.settings",
        DEBUG="1",
        GRAPH_SANDBOX="1",
        VAR_DIR=var_dir,
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", database="graph_sandbox", verbosity=0)


def start_sandbox():
    from django.conf import settings

    from graph_sandbox import control
    from graph_sandbox.server import ApiHandler, SandboxServer, start_in_thread
    from graph_sandbox.tls import ensure_tls_files

    control.seed_demo()
    files = ensure_tls_files(settings.GRAPH_SANDBOX_TLS_DIR)
    server = SandboxServer(("127.0.0.1", 0), ApiHandler(), tls=files, quiet=True)
    start_in_thread(server)
    return server, str(files.ca_cert)


def access_token(base: str, ca: str) -> str:
    """Sign Adele in: a code from the sandbox, redeemed at the token endpoint over HTTPS."""
    import requests

    from graph_sandbox import control, demo
    from graph_sandbox.identity import tokens
    from graph_sandbox.models import AppRegistration

    app = AppRegistration.objects.get(client_id=demo.DEMO_CLIENT_ID)
    redirect_uri = demo.DEMO_REDIRECT_URIS[0]
    code = tokens.code_issue(
        app=app,
        mailbox=control.mailbox(demo.ADELE.address),
        redirect_uri=redirect_uri,
        scopes=["openid", "offline_access", "User.Read", "Calendars.ReadWrite"],
        code_challenge="",
        code_challenge_method="",
        nonce="",
    )
    answer = requests.post(
        f"{base}/common/oauth2/v2.0/token",
        data={
            "client_id": demo.DEMO_CLIENT_ID,
            "client_secret": demo.DEMO_CLIENT_SECRET,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
        },
        verify=ca,
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def run(name: str, *, threads: int, total: int, call) -> dict:
    """``total`` calls spread over ``threads`` threads; latency, throughput, statuses."""
    import requests

    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    per_thread = total // threads

    def worker() -> None:
        session = requests.Session()
        session.trust_env = False
        for i in range(per_thread):
            started = time.perf_counter()
            try:
                status = str(call(session, i).status_code)
            except requests.RequestException as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed * 1000)
                statuses[status] += 1

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "name": name,
        "threads": threads,
        "calls": len(latencies),
        "per_second": len(latencies) / wall,
        "p50": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95) - 1],
        "statuses": dict(statuses),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="calls per scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="graph-sandbox-bench-") as var_dir:
        setup_django(var_dir)
        server, ca = start_sandbox()
        try:
            report(server.port, ca, args.requests)
        finally:
            server.shutdown()
            server.server_close()


def report(port: int, ca: str, total: int) -> None:
    from graph_sandbox import control, demo

    base = f"https://localhost:{port}"
    graph = f"{base}/v1.0"
    headers = {"Authorization": f"Bearer {access_token(base, ca)}"}
    day = datetime(2030, 1, 7, tzinfo=UTC)
    for i in range(50):
        start = day + timedelta(minutes=15 * i)
        control.event_add(
            demo.ADELE.address, subject=f"Busy {i}", start=start, end=start + timedelta(minutes=10)
        )
    calendar = control.calendar_id(demo.ADELE.address, "Calendar")
    window = "startDateTime=2030-01-07T00:00:00Z&endDateTime=2030-01-08T00:00:00Z&$top=50"

    def me_calendars(session, i):
        return session.get(f"{graph}/me/calendars", headers=headers, verify=ca, timeout=30)

    def calendar_view(session, i):
        url = f"{graph}/me/calendars/{calendar}/calendarView?{window}"
        return session.get(url, headers=headers, verify=ca, timeout=30)

    def create(session, i):
        body = {
            "subject": f"Booking {i}",
            "start": {"dateTime": "2030-02-01T09:00:00", "timeZone": "Europe/London"},
            "end": {"dateTime": "2030-02-01T09:30:00", "timeZone": "Europe/London"},
            "transactionId": str(uuid.uuid4()),
        }
        return session.post(f"{graph}/me/events", json=body, headers=headers, verify=ca, timeout=30)

    control.mailbox_concurrency_set(0)
    results = [
        run("GET /me/calendars, sequential", threads=1, total=total // 2, call=me_calendars),
        run("GET calendarView (50 events)", threads=8, total=total, call=calendar_view),
        run("POST /me/events", threads=8, total=total, call=create),
    ]
    control.mailbox_concurrency_set(4)
    results.append(
        run("GET calendarView, limit of 4 on", threads=8, total=total, call=calendar_view)
    )
    columns = ("thr", "calls", "req/s", "p50 ms", "p95 ms")
    print(f"{'scenario':38} " + " ".join(f"{c:>7}" for c in columns) + "  statuses")
    for r in results:
        print(
            f"{r['name']:38} {r['threads']:>7} {r['calls']:>7} {r['per_second']:>7.0f} "
            f"{r['p50']:>7.1f} {r['p95']:>7.1f}  {r['statuses']}"
        )


if __name__ == "__main__":
    main()
