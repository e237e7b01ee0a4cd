"""What one /metrics scrape costs on a large installation (PostgreSQL only).

    .venv/bin/python -m bench.metrics_scrape [--database-url postgres://…] [--keep]

Makes a throw-away database ``<name>_metrics_bench`` next to ``--database-url``
(default: ``DATABASE_URL``) and fills it with 10,000 hosts, each with one calendar
account (9,000 connected, 334 of them expiring in 2 days; 1,000 disconnected), two
calendars (one read for busy time), a change-notification subscription for each
connected account (1 in 50 lapsed, 1 in 100 failing), one booking page and 100
bookings: 1,000,000 bookings, each with its calendar push row (0.5% pending, 0.3%
waiting, 0.2% failed, the rest synced). Rows are copied from one row made through the ORM with
``INSERT … SELECT`` over ``generate_series``, so every column is valid.

Then times the scrape as ``GET /metrics`` answers it (``ops.metrics_scrape``: the
counters' files and the database gauges) and each database gauge on its own, with the
broker's queue length from ``CELERY_BROKER_URL`` (Redis if set). Reports the median
and the slowest of 20 scrapes after one warm-up. The database is dropped afterwards
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

HOSTS = 10_000
BOOKINGS_PER_HOST = 100
SCRAPES = 20


def bench_database_url(base: str) -> tuple[str, str, str] | None:
    """(bench database URL, its name, the maintenance database URL); None if not PostgreSQL."""
    parts = urlsplit(base)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        return None
    name = f"{parts.path.lstrip('/') or 'scheduleonce'}_metrics_bench"
    return (
        urlunsplit(parts._replace(path=f"/{name}")),
        name,
        urlunsplit(parts._replace(path="/postgres")),
    )


def recreate(maintenance_url: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg2

    connection = psycopg2.connect(maintenance_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def start_django(database_url: str, var_dir: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="scheduleonce.settings",
        DEBUG="1",
        GRAPH_SANDBOX="0",
        DATABASE_URL=database_url,
        VAR_DIR=var_dir,
        PROMETHEUS_MULTIPROC_DIR=os.path.join(var_dir, "metrics"),
        LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("CELERY_BROKER_URL", f"filesystem://{var_dir}/broker")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- filling ---------------------------------------------------------------------------------


def clone(model, template_pk: int, driver: str, overrides: dict[str, str]) -> int:
    """Copy row ``template_pk`` once per row of ``driver`` (a FROM item aliased ``d``),
    with ``overrides`` (column -> SQL expression); returns how many rows were made."""
    from django.db import connection

    columns = [
        field.column
        for field in model._meta.concrete_fields
        if not field.primary_key or field.column in overrides
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    selected = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f"INSERT INTO {table} ({names}) SELECT {selected} FROM {table} t, {driver} "  # noqa: S608
    with connection.cursor() as cursor:
        key = model._meta.pk.column
        cursor.execute(f'{sql} WHERE t."{key}" = {int(template_pk)}')  # no parameters: "%" is SQL's
        return cursor.rowcount


def fill() -> dict[str, int]:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from booking.models import Booking, BookingPage
    from booking.services.bookings import booking_location
    from calendars.models import Calendar, CalendarConnection, ChangeSubscription, PushedEvent

    now = timezone.now()
    user = User.objects.create_user("host0@bench.test", "bench-password-0", name="Host 0")
    account = CalendarConnection.objects.create(
        host=user, provider="office365", account_id="uid0.tid", account_email="host0@bench.test"
    )
    calendar = Calendar.objects.create(
        connection=account, remote_id="cal-1", name="Calendar", is_default=True,
        busy_horizon_days=60, last_synced_at=now,
    )  # fmt: skip
    page = BookingPage.objects.create(
        host=user, title="Intro call", slug="page0", time_zone="Europe/London"
    )
    booking = Booking.objects.create(
        page=page, host=user, title="Intro call", start=now, end=now + timedelta(minutes=30),
        invitee_name="Invitee", invitee_email="invitee@bench.test", invitee_time_zone="UTC",
        **booking_location(page=page, host_id=user.pk),  # as booking_create sets them
    )  # fmt: skip
    push = PushedEvent.objects.create(
        host=user, calendar=calendar, source=f"booking:{booking.uuid}", payload={}, state="synced"
    )
    users = (
        "(SELECT id, row_number() OVER (ORDER BY id) AS n FROM accounts_user "  # noqa: S608
        f"WHERE id <> {user.pk}) d"
    )
    made = {"hosts": 1 + clone(User, user.pk, f"generate_series(1, {HOSTS - 1}) d(n)", {
        "email": "'host' || d.n || '@bench.test'", "name": "'Host ' || d.n",
    })}  # fmt: skip
    made["connections"] = 1 + clone(CalendarConnection, account.pk, users, {
        "host_id": "d.id",
        "account_id": "'uid' || d.n || '.tid'",
        "account_email": "'host' || d.n || '@bench.test'",
        "status": "CASE WHEN d.n % 10 = 0 THEN 'disconnected' ELSE 'connected' END",
        "refresh_expires_at": "now() + CASE WHEN d.n % 27 = 1 THEN interval '2 days' "
        "ELSE interval '60 days' END",
    })  # fmt: skip
    made["calendars"] = 1 + clone(
        Calendar,
        calendar.pk,
        "(SELECT c.id, k FROM calendars_calendarconnection c, generate_series(1, 2) k "  # noqa: S608
        f"WHERE NOT (c.id = {account.pk} AND k = 1)) d",
        {
            "connection_id": "d.id",
            "remote_id": "'cal-' || d.k",
            "is_default": "d.k = 1",
            "busy_horizon_days": "CASE WHEN d.k = 1 THEN 60 ELSE 0 END",
            "last_synced_at": "now() - random() * interval '10 minutes'",
        },
    )
    subscription = ChangeSubscription.objects.create(
        connection=account, remote_id="sub-0", expires_at=now + timedelta(days=2)
    )
    made["subscriptions"] = 1 + clone(
        ChangeSubscription,
        subscription.pk,
        "(SELECT id, row_number() OVER (ORDER BY id) AS n FROM calendars_calendarconnection "  # noqa: S608
        f"WHERE id <> {account.pk} AND status = 'connected') d",
        {
            "connection_id": "d.id",
            "remote_id": "CASE WHEN d.n % 50 = 0 THEN '' ELSE 'sub-' || d.n END",
            "last_error": "CASE WHEN d.n % 100 = 0 THEN 'refused' ELSE '' END",
        },
    )
    made["pages"] = 1 + clone(BookingPage, page.pk, users, {
        "host_id": "d.id", "slug": "'page' || d.n",
    })  # fmt: skip
    made["bookings"] = 1 + clone(
        Booking,
        booking.pk,
        "(SELECT p.id, p.host_id, k FROM booking_bookingpage p, "  # noqa: S608
        f"generate_series(1, {BOOKINGS_PER_HOST}) k WHERE NOT (p.id = {page.pk} AND k = 1)) d",
        {
            "uuid": "gen_random_uuid()",
            "page_id": "d.id",
            "host_id": "d.host_id",
            "start": "now() + d.k * interval '1 hour'",
            "end": "now() + d.k * interval '1 hour' + interval '30 minutes'",
            "invitee_email": "'invitee' || d.k || '@bench.test'",
        },
    )
    made["pushes"] = 1 + clone(
        PushedEvent,
        push.pk,
        "(SELECT b.id, b.uuid, b.host_id, c.id AS calendar_id FROM booking_booking b "  # noqa: S608
        "JOIN calendars_calendarconnection a ON a.host_id = b.host_id "
        "JOIN calendars_calendar c ON c.connection_id = a.id AND c.remote_id = 'cal-1' "
        f"WHERE b.id <> {booking.pk}) d",
        {
            "host_id": "d.host_id",
            "calendar_id": "d.calendar_id",
            "source": "'booking:' || d.uuid",
            "transaction_id": "gen_random_uuid()",
            "state": "CASE WHEN d.id % 1000 < 5 THEN 'pending' WHEN d.id % 1000 < 8 "
            "THEN 'waiting' WHEN d.id % 1000 < 10 THEN 'failed' ELSE 'synced' END",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return made


# --- timing ----------------------------------------------------------------------------------


def timed(function, runs: int = SCRAPES) -> tuple[float, float]:
    """(median, slowest) milliseconds of ``runs`` calls after one warm-up."""
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def report() -> None:
    from django.utils import timezone

    from ops.metrics_gauges import (
        busy_sync_lag_seconds,
        connections_by_status,
        pushes_by_state,
        queue_lengths,
        subscriptions_by_state,
    )
    from ops.metrics_scrape import metrics_scrape

    body, _ = metrics_scrape()
    print(
        "\n".join(
            line
            for line in body.decode().splitlines()
            if line.startswith(
                (
                    "scheduleonce_calendar",
                    "scheduleonce_pushes",
                    "scheduleonce_busy",
                    "scheduleonce_sub",
                )
            )
        )
    )
    print(f"\n{'what':<44} {'median ms':>10} {'slowest ms':>11}")
    for name, function in [
        ("whole scrape (GET /metrics body)", metrics_scrape),
        ("connections by status (1 aggregate)", lambda: connections_by_status(now=timezone.now())),
        ("pushes by state (1 grouped count)", pushes_by_state),
        (
            "busy-sync lag (1 aggregate over a join)",
            lambda: busy_sync_lag_seconds(now=timezone.now()),
        ),
        (
            "subscriptions by state (1 aggregate)",
            lambda: subscriptions_by_state(now=timezone.now()),
        ),
        ("broker queue length", queue_lengths),
    ]:
        median, slowest = timed(function)
        print(f"{name:<44} {median:>10.1f} {slowest:>11.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    found = bench_database_url(args.database_url)
    if found is None:
        print("skipped: bench.metrics_scrape needs PostgreSQL (--database-url postgres://…)")
        return
    url, name, maintenance = found
    recreate(maintenance, name)
    try:
        with tempfile.TemporaryDirectory(prefix="metrics-bench-") as var_dir:
            start_django(url, var_dir)
            started = time.perf_counter()
            made = fill()
            print(f"filled in {time.perf_counter() - started:.0f} s: {made}")
            report()
    finally:
        if "django.db" in sys.modules:  # Django was set up: let go of the database
            from django.db import connections

            connections.close_all()
        if not args.keep:
            recreate(maintenance, name, drop_only=True)


if __name__ == "__main__":
    main()
