"""One booking POST in-process: its queries, its CPU time and how long it holds the host's lock.

    .venv/bin/python -m bench.booking_post [--posts 200] [--sql]
        [--profile [calls|cpu] [--profile-out FILE]]

The same seed as ``bench.http`` (a host connected to the Graph sandbox through the real
sign-in code, 500 busy events synced into its two calendars, the around-the-clock page
``bench-book``), then ``--posts`` bookings of consecutive quarter hours 40 days out,
through Django's test client (URL routing, middleware, the view, the service; no HTTP
server). With ``DATABASE_URL`` a PostgreSQL URL it runs on its own database
``<name>_booking_post`` (made and dropped here), else on SQLite; with ``CACHE_URL`` and
``CELERY_BROKER_URL`` Redis URLs the cache and the broker are Redis, as in production.

Printed per POST (with ``DEBUG`` off, as in production): the queries (``--sql`` lists
one POST's), the Python function calls (counted by ``cProfile`` over separate POSTs:
a measure of the work that hardly depends on the machine's load; the request's thread,
and apart from it the outbox publisher thread sending the booking's message to the
broker after the commit), the process's CPU
time (the outbox publisher thread included), the wall time, and the time from the
host's row lock (``SELECT … FOR UPDATE``) to the end of the commit that frees it.
Bookings of one host queue on that lock, so the last figure bounds one host's
bookings per second.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import itertools
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from bench._calendar import throwaway_product

BOOK_FROM_DAYS = 40


class LockTimer:
    """Times each stretch from ``SELECT … FOR UPDATE`` to the end of the next commit."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.locked_at: float | None = None
        self.held: list[float] = []
        self._commit = connection.commit
        connection.commit = self._timed_commit

    def __call__(self, execute, sql, params, many, context):
        if self.locked_at is None and "FOR UPDATE" in sql:
            self.locked_at = time.perf_counter()
        return execute(sql, params, many, context)

    def _timed_commit(self) -> None:
        self._commit()
        if self.locked_at is not None:
            self.held.append(time.perf_counter() - self.locked_at)
            self.locked_at = None


class BackendClock:
    """CPU time of the PostgreSQL backend serving ``connection`` (its server process, on
    this machine: ``/proc/<pid>/schedstat``, nanoseconds on a CPU), from now on."""

    def __init__(self, connection) -> None:
        self.path = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                [(pid,)] = cursor.fetchall()
            self.path = f"/proc/{pid}/schedstat"
        self.start = self._read()

    def _read(self) -> int | None:
        if self.path is None:
            return None
        try:
            with open(self.path) as stat:
                return int(stat.read().split()[0])
        except OSError:  # the server runs elsewhere
            return None

    def elapsed_ms(self) -> float | None:
        end = self._read()
        if end is None or self.start is None:
            return None
        return (end - self.start) / 1e6


@contextlib.contextmanager
def publisher_counted() -> Iterator[cProfile.Profile]:
    """A profile of what the outbox publisher thread does meanwhile (it sends each
    booking's message to the broker after the commit), complete when the block ends."""
    from outbox import dispatch

    counter = cProfile.Profile()
    send_jobs = dispatch._send_jobs

    counter.sends = 0  # how many times it sent (one message per bundle, more per lone task)

    def counted(*args, **kwargs):
        counter.sends += 1
        counter.enable()
        try:
            return send_jobs(*args, **kwargs)
        finally:
            counter.disable()

    dispatch._send_jobs = counted
    try:
        yield counter
        dispatch.publisher_drain()
    finally:
        dispatch._send_jobs = send_jobs


def redis_env() -> dict[str, str]:
    return {
        name: os.environ[name]
        for name in ("CACHE_URL", "CELERY_BROKER_URL")
        if os.environ.get(name, "").startswith("redis://")
    }


def post_body(start: datetime) -> str:
    return json.dumps(
        {
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "name": "Bench invitee",
            "email": "invitee@example.com",
            "timezone": "Europe/Berlin",
        }
    )


def run(*, posts: int, show_sql: bool, profile: str | None, profile_out: str | None = None) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.http import next_free_start, seed_product

    _, page = seed_product()
    path = f"/api/booking-pages/{page.slug}/bookings"
    client = Client()
    start = next_free_start(page)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert start >= today + timedelta(days=BOOK_FROM_DAYS)

    def book() -> None:
        nonlocal start
        response = client.post(path, post_body(start), content_type="application/json")
        assert response.status_code == 201, (response.status_code, response.content[:300])
        start += timedelta(minutes=15)

    from outbox import dispatch

    for _ in range(5):  # warm imports, caches and the connection
        book()
    # The publisher's first sends (Celery's app finalized on its first look at the tasks,
    # the broker connection) are warm-up too, not part of what a POST costs it.
    dispatch.publisher_drain()
    with CaptureQueriesContext(connection) as captured:
        book()
    print(f"queries per POST: {len(captured)}")
    if show_sql:
        for number, query in enumerate(captured.captured_queries, 1):
            print(f"  {number:2}. {query['sql'][:300]}")

    settings.DEBUG = False  # as in production: no query log kept for the POSTs below
    counter = cProfile.Profile()
    with publisher_counted() as publisher_counter:
        counter.enable()
        for _ in range(20):
            book()
        counter.disable()
    calls = pstats.Stats(counter).total_calls / 20
    publisher_calls = pstats.Stats(publisher_counter).total_calls / 20
    if profile_out:
        pstats.Stats(publisher_counter).dump_stats(f"{profile_out}.publisher")
    timer = LockTimer(connection)
    backend = BackendClock(connection)
    cpu, wall = [], []
    # ``--profile`` counts profiler events instead of timing them: "time" is then a
    # measure of work that the machine's load does not disturb. ``--profile cpu`` times
    # them on the thread's CPU clock instead (about 4-5 times slower under the profiler;
    # use it for shares, not amounts).
    ticks = itertools.count()
    clock = time.thread_time_ns if profile == "cpu" else lambda: next(ticks)
    profiler = cProfile.Profile(clock, 1e-9 if profile == "cpu" else 1e-6) if profile else None
    with connection.execute_wrapper(timer):
        for _ in range(posts):
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            book()
            if profiler:
                profiler.disable()
            cpu.append(time.process_time() - cpu_before)
            wall.append(time.perf_counter() - wall_before)
    held = timer.held
    backend_ms = backend.elapsed_ms()

    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        p90 = ordered[int(len(ordered) * 0.9)]
        return f"median {statistics.median(values) * 1000:.2f} ms, p90 {p90 * 1000:.2f} ms"

    print(f"{posts} POSTs on {connection.vendor}:")
    print(
        f"  Python calls:   {calls:,.0f} per POST, publisher thread {publisher_calls:,.0f}"
        f" ({publisher_counter.sends} sends for 20 POSTs)"
    )
    print(f"  CPU per POST:   {ms(cpu)}")
    print(f"  wall per POST:  {ms(wall)}")
    print(f"  lock held:      {ms(held)} ({len(held)} locked stretches)")
    if backend_ms is not None:
        print(f"  PostgreSQL:     {backend_ms / posts:.2f} ms of its backend's CPU per POST")
    if profiler:
        stats = pstats.Stats(profiler)
        if profile_out:
            stats.dump_stats(profile_out)
        # The product's own functions (Django's are below them in the cumulative column).
        ours = r"/(accounts|booking|calendars|integrations|ops|outbox)/"
        stats.sort_stats("cumulative").print_stats(ours, 50)
        stats.sort_stats("tottime").print_stats(40)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200, help="bookings to time")
    parser.add_argument("--sql", action="store_true", help="list one POST's queries")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="calls",
        choices=("calls", "cpu"),
        help="cProfile the timed POSTs: count calls (default) or time them on the CPU clock",
    )
    parser.add_argument(
        "--profile-out", help="with --profile, keep the pstats in FILE (and FILE.publisher)"
    )
    args = parser.parse_args()
    with throwaway_product(
        prefix="booking-post-bench-", database_suffix="booking_post", **redis_env()
    ):
        run(posts=args.posts, show_sql=args.sql, profile=args.profile, profile_out=args.profile_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
