"""Setup → Meetings with 100,000 bookings on PostgreSQL: list pages and the CSV export.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything .venv/bin/python -m bench.meetings \\
        [--bookings 100000] [--runs 7]

Makes a throw-away database ``<name>_bench_meetings`` on that server (dropped at the
end), migrates it, and gives one host ``--bookings`` bookings over four years (about a
fifth to come, a tenth cancelled, three questions answered, a calendar push row each)
and another host 10,000 more. Then, in this process, through Django's test client
(so the time is the server's: URL routing, middleware, queries, template; no network):
the median and range of ``--runs`` GETs of each list view after one warm-up. Then, in a
fresh process each, the full export (streamed, every row consumed) and, for contrast,
the same rows loaded at once into a list: peak RSS growth over the process's own
baseline (``VmHWM`` from /proc before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("José Müller", "Zoë Ådler", "Priya Raman", "Dana Smith", "Chen Wei", "Łukasz Nowak")
VIEWS = (
    ("upcoming (default)", ""),
    ("past, page 1", "?tab=past"),
    ("past, page 1,000", "?tab=past&page=1000"),
    ("cancelled", "?tab=cancelled"),
    ("search “jose” (1 in 6 match)", "?tab=past&q=jose"),
    ("search one email", "?tab=past&q=invitee4242%40example.com"),
    ("one page, one month", "?tab=past&booking_page={page}&from={month_start}&to={month_end}"),
)


def _bench_url(url: str) -> str:
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path=f"/{name}_bench_meetings"))


def _admin(url: str, sql: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    conn = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql)
    conn.close()


def _setup_django(database_url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "scheduleonce.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-bench-only-secret-key",
            "ALLOWED_HOSTS": "testserver",
            "TOKEN_ENCRYPTION_KEYS": "ZmFrZS1rZXktZm9yLWJlbmNoLW9ubHktMzItYnl0ZXM=",
            "DATABASE_URL": database_url,
            "GRAPH_SANDBOX": "0",
            "LOG_LEVEL": "ERROR",
            "CACHE_URL": "locmemcache://",
            "CELERY_BROKER_URL": "memory://",
            "SECURE_SSL_REDIRECT": "0",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # Production settings, but static files named plainly (no collectstatic manifest here).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def seed(count: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from booking.models import Booking, BookingStatus, Question, booking_search_text
    from booking.services.bookings import booking_location
    from booking.services.pages import page_create
    from calendars.models import Calendar, CalendarConnection, PushedEvent, PushState

    users = get_user_model().objects
    host = users.create_user("host@example.com", "x", name="Bench Host", time_zone="Europe/Berlin")
    other = users.create_user("other@example.com", "x", name="Other Host")
    pages = [
        page_create(host=host, fields={"title": f"Page {n}", "slug": f"page-{n}"}) for n in range(3)
    ]
    other_page = page_create(host=other, fields={"title": "Other", "slug": "other"})
    for page in pages:
        for position, label in enumerate(("Company", "Team size", "Phone")):
            Question.objects.create(page=page, label=label, position=position)
    conn = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="a", account_email="host@contoso.example"
    )
    calendar = Calendar.objects.create(connection=conn, remote_id="A", name="Calendar")
    rng = random.Random(11)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(days=3 * 365)
    span = 4 * 365 * 24 * 2  # half hours over four years

    # The location fields as booking_create sets them (computed once per page).
    locations = {
        page.pk: booking_location(page=page, host_id=page.host_id) for page in [*pages, other_page]
    }

    def booking(number: int, page, owner) -> Booking:
        start = first + timedelta(minutes=30 * rng.randrange(span))
        cancelled = rng.random() < 0.1
        name, email = f"{NAMES[number % len(NAMES)]} {number}", f"invitee{number}@example.com"
        return Booking(
            uuid=uuid.uuid4(),
            page=page,
            host=owner,
            title=page.title,
            **locations[page.pk],
            start=start,
            end=start + timedelta(minutes=30),
            invitee_name=name,
            invitee_email=email,
            search_text=booking_search_text(name, email),
            invitee_time_zone=rng.choice(("Europe/London", "Asia/Kolkata", "America/New_York")),
            answers=[
                {"question": "Company", "answer": f"=Company {number}"},
                {"question": "Team size", "answer": str(rng.randrange(1, 500))},
                {"question": "Phone", "answer": "+44 20 7946 0000"},
            ],
            status=BookingStatus.CANCELLED if cancelled else BookingStatus.CONFIRMED,
            cancelled_at=start - timedelta(days=1) if cancelled else None,
            cancel_reason="Something came up" if cancelled else "",
        )

    batch = 5000
    for offset in range(0, count, batch):
        rows = [booking(n, pages[n % 3], host) for n in range(offset, min(count, offset + batch))]
        Booking.objects.bulk_create(rows)
        PushedEvent.objects.bulk_create(
            PushedEvent(
                host=host,
                calendar=calendar,
                source=row.mirror_source,
                payload={},
                state=PushState.SYNCED,
                synced_version=1,
                wanted=row.status == BookingStatus.CONFIRMED,
            )
            for row in rows
        )
    for offset in range(0, 10_000, batch):
        Booking.objects.bulk_create(
            booking(count + n, other_page, other) for n in range(offset, offset + batch)
        )
    # What autovacuum does after a bulk load (statistics, and the visibility map that lets
    # index-only scans skip the table).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"host": host.pk, "page": pages[1].pk}


def time_views(ids: dict, runs: int) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(pk=ids["host"]))
    month = datetime.now(UTC).date().replace(day=1) - timedelta(days=200)
    month = month.replace(day=1)
    fill = {
        "page": ids["page"],
        "month_start": month.isoformat(),
        "month_end": (month + timedelta(days=30)).isoformat(),
    }
    results = []
    for name, query in VIEWS:
        url = "/setup/meetings/" + query.format(**fill)
        client.get(url)
        times, sql = [], []
        for _ in range(runs):
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            sql.append(sum(float(query["time"]) for query in queries.captured_queries) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        results.append(
            {
                "view": name,
                "median_ms": statistics.median(times),
                "min_ms": min(times),
                "max_ms": max(times),
                "queries": len(queries),
                "sql_ms": statistics.median(sql),
                "rows": response.content.count(b"<tr data-meeting="),
            }
        )
    return results


def time_tab_counts(ids: dict, runs: int) -> list[dict]:
    """Each tab's badge as the list counts it: exactly (the tab shown) and capped at 1,000
    (the two others), without and with a search; median of ``runs`` after a warm-up."""
    from django.contrib.auth import get_user_model

    from booking.meeting_selectors import (
        MeetingFilters,
        Tab,
        meetings_count,
        meetings_count_capped,
    )

    user = get_user_model().objects.get(pk=ids["host"])
    counts = {
        "exact": lambda filters: meetings_count(user=user, filters=filters, time_zone="UTC"),
        "capped at 1,000": lambda filters: meetings_count_capped(
            user=user, filters=filters, time_zone="UTC", cap=1000
        ),
    }
    results = []
    for tab in Tab:
        for query in ("", "jose"):
            filters = MeetingFilters(tab=tab, query=query)
            for kind, count in counts.items():
                value = count(filters)
                times = []
                for _ in range(runs):
                    started = time.perf_counter()
                    count(filters)
                    times.append((time.perf_counter() - started) * 1000)
                name = f"{tab.value}{' q=' + query if query else ''}, {kind}"
                results.append({"count": name, "value": value, "ms": statistics.median(times)})
    return results


def _hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(database_url: str, mode: str, host_id: int) -> None:
    """One measurement in a fresh process: prints a JSON line."""
    _setup_django(database_url)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from booking.models import Booking

    client = Client()
    client.force_login(get_user_model().objects.get(pk=host_id))
    client.get("/setup/meetings/export.csv?tab=upcoming&q=nobody-matches")  # warm: imports
    baseline = _hwm_kib()
    started = time.perf_counter()
    size = rows = 0
    if mode == "export":
        response = client.get("/setup/meetings/export.csv?tab=past")
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\n")
        rows -= 1  # the header
    else:
        loaded = list(Booking.objects.filter(host_id=host_id).select_related("page"))
        rows = len(loaded)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "mode": mode,
                "rows": rows,
                "bytes": size,
                "seconds": seconds,
                "growth_mib": (_hwm_kib() - baseline) / 1024,
            }
        )
    )


def measure_memory(database_url: str, host_id: int) -> list[dict]:
    out = []
    for mode in ("export", "load-all"):
        answer = subprocess.run(
            [sys.executable, "-m", "bench.meetings", "--child", mode, "--host", str(host_id)],
            cwd=ROOT,
            env={**os.environ, "BENCH_DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(answer.stdout.strip().splitlines()[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--child", choices=("export", "load-all"))
    parser.add_argument("--host", type=int)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--counts-only",
        action="store_true",
        help="only the tab counts, on the database a run with --keep left",
    )
    args = parser.parse_args()
    if args.child:
        child(os.environ["BENCH_DATABASE_URL"], args.child, args.host)
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("bench.meetings: skipped, it needs PostgreSQL (set DATABASE_URL=postgres://…)")
        return
    bench_url = _bench_url(url)
    name = urlsplit(bench_url).path.lstrip("/")
    if args.counts_only:
        _setup_django(bench_url)
        from django.contrib.auth import get_user_model

        host = get_user_model().objects.get(email="host@example.com")
        _print_counts({"host": host.pk}, args.runs)
        return
    _admin(url, f'DROP DATABASE IF EXISTS "{name}"')
    _admin(url, f'CREATE DATABASE "{name}"')
    try:
        _setup_django(bench_url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        ids = seed(args.bookings)
        print(
            f"seeded {args.bookings:,} + 10,000 bookings in {time.perf_counter() - started:.0f} s"
        )
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(
            f"\n{'list view':40} {'median ms':>9} {'range':>9} {'of it SQL':>9} "
            f"{'queries':>7} {'rows':>4}"
        )
        for row in time_views(ids, args.runs):
            spread = f"{row['min_ms']:.0f}-{row['max_ms']:.0f}"
            print(
                f"{row['view']:40} {row['median_ms']:9.1f} {spread:>9} {row['sql_ms']:9.1f} "
                f"{row['queries']:7} {row['rows']:4}"
            )
        _print_counts(ids, args.runs)
        heading = f"{'export (fresh process)':24} {'rows':>7} {'MiB out':>8} {'s':>6}"
        print(f"\n{heading} {'peak RSS +MiB':>13}")
        for row in measure_memory(bench_url, ids["host"]):
            print(
                f"{row['mode']:24} {row['rows']:7,} {row['bytes'] / 2**20:8.1f} "
                f"{row['seconds']:6.1f} {row['growth_mib']:13.1f}"
            )
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            _admin(url, f'DROP DATABASE IF EXISTS "{name}"')


def _print_counts(ids: dict, runs: int) -> None:
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"\n{'tab badge count':40} {'value':>7} {'median ms':>9}")
    for row in time_tab_counts(ids, runs):
        print(f"{row['count']:40} {row['value']:7,} {row['ms']:9.1f}")


if __name__ == "__main__":
    main()
