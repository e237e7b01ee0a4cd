"""The public booking side under HTTP load, on the production-shaped stack, beside ``/healthz``.

    .venv/bin/python -m bench.http [--duration 20] [--runs 1]

Needs PostgreSQL and Redis (``DATABASE_URL`` a postgres URL, ``CELERY_BROKER_URL`` and
``CACHE_URL`` redis URLs: the bench makes and drops its own database
``<name>_http`` and empties the two Redis databases) and ``wrk`` (Debian package).
Without them it says so and does nothing.

What runs, all on loopback: gunicorn with 2 workers and a Celery worker with 4
processes, both with production settings (``DEBUG=0``, static files through
WhiteNoise's manifest, ``X-Forwarded-Proto: https`` as a TLS proxy would add); the
Graph sandbox (in this process) stands in for Microsoft, so bookings really become
events. Seeded: a host connected through the real sign-in code, 500 busy events
over the next 31 days in its two calendars (read by the real busy-time sync), the
page ``bench`` (weekdays 09-17 London, 30 minutes every 15, both calendars) and
``bench-book``, open around the clock on the same calendars, that the POST books
far enough ahead not to touch ``bench``'s month. The booking rate limit is off
(every request comes from 127.0.0.1).

Each request kind runs ``wrk -t2 -c8`` for ``--duration`` seconds right after a
``/healthz`` run of the same length, and is shown against it: the ratio of their
throughputs says how far the request is from the framework's floor on this
machine at that moment, which holds up better than raw figures on a shared machine.

With the worker running, the POST row waits until the worker has caught up and says how
long after the load the last booking reached the sandbox mailbox, and whether every
booking of the run is there exactly once; its CPU figures include that catching up.
``--worker-nice 6`` runs the worker at a lower CPU priority, the nearest one machine gets
to docker-compose.yml's ``cpu_shares`` for the worker (web requests go first when both
want the CPU; see the comment there).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bench._calendar import ROOT, connect_host, start_product
from scheduleonce.celery import WORKER_QUIET

THREADS, CONNECTIONS = 2, 8
BUSY_EVENTS = 500
SLOTS_DAYS = 31
BOOK_FROM_DAYS = 40  # the POST books from here on, beyond the slots page's month
_PAGE_COMMON = {"time_zone": "Europe/London", "minimum_notice_minutes": 60}
SLOTS_PATH = "/api/booking-pages/bench/slots?tz=Europe/Berlin&start={}&end={}"
PROXY_HEADER = "X-Forwarded-Proto: https"

POST_SCRIPT = """
local counter = 0
function init(args)
  base = tonumber(args[1]); step = tonumber(args[2]); every = tonumber(args[3])
  offset = tonumber(args[4]) + (id or 0)
end
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function request()
  local at = base + (counter * every + offset) * step
  counter = counter + 1
  local body = string.format(
    '{"start": "%s", "name": "Bench invitee", "email": "invitee@example.com", '
    .. '"timezone": "Europe/Berlin"}', os.date("!%Y-%m-%dT%H:%M:%SZ", at))
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
    ["X-Forwarded-Proto"] = "https"}, body)
end
"""


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx/3xx answers plus socket errors


def missing_services() -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed (Debian package wrk)"
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "DATABASE_URL is not a PostgreSQL URL"
    for name in ("CELERY_BROKER_URL", "CACHE_URL"):
        if not os.environ.get(name, "").startswith("redis://"):
            return f"{name} is not a Redis URL"
    return None


# --- the database and Redis ----------------------------------------------------------


def bench_database_url() -> str:
    url = urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path=f"{url.path}_http").geturl()


def _admin(url: str, statement: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    connection = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def database_create(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    database_drop(url)
    _admin(url, f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_flush() -> None:
    import redis

    for name in ("CELERY_BROKER_URL", "CACHE_URL"):
        redis.Redis.from_url(os.environ[name]).flushdb()


# --- seeding --------------------------------------------------------------------------


def seed_busy_time(address: str) -> None:
    """500 events over the next 31 days, 06:00-22:00 UTC, half in each calendar."""
    import random

    from graph_sandbox import control

    rng = random.Random(BUSY_EVENTS)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for number in range(BUSY_EVENTS):
        day = today + timedelta(days=rng.randrange(SLOTS_DAYS))
        start = day + timedelta(hours=6, minutes=15 * rng.randrange(64))
        control.event_add(
            address,
            subject=f"Busy {number}",
            start=start,
            end=start + timedelta(minutes=rng.choice((15, 30, 30, 60, 90))),
            show_as=rng.choice(("busy", "busy", "busy", "oof", "tentative")),
            calendar=("Calendar", "Personal")[number % 2],
        )


def slots_page_create(host):
    """Page ``bench``: weekdays 09-17 London, 30 minutes every 15 (what the GETs read)."""
    from datetime import time as wall

    from booking.services.pages import page_create

    return page_create(
        host=host,
        fields={
            **_PAGE_COMMON,
            "title": "Bench call",
            "slug": "bench",
            "duration_minutes": 30,
            "increment_minutes": 15,
            "horizon_days": 60,
        },
        hours=[(weekday, wall(9), wall(17)) for weekday in range(5)],
    )


def book_page_create(host):
    """Page ``bench-book``: open around the clock, 15 minutes (what the POSTs book)."""
    from datetime import time as wall

    from booking.services.pages import page_create

    return page_create(
        host=host,
        fields={
            **_PAGE_COMMON,
            "title": "Bench booking",
            "slug": "bench-book",
            "duration_minutes": 15,
            "increment_minutes": 15,
            "horizon_days": 365,
        },
        hours=[(weekday, wall(0), wall(0)) for weekday in range(7)],
    )


def personal_calendar_read(connection, pages) -> None:
    """The connection's "Personal" calendar supplies busy time to ``pages`` too."""
    from booking.services.pages import page_calendars_set
    from calendars.models import Calendar

    personal = Calendar.objects.get(connection=connection, name="Personal")
    for page in pages:
        page_calendars_set(
            page=page, main_calendar=page.main_calendar, uses={personal.pk: (True, False)}
        )


def seed_product():
    """The connected host, its busy time read by the real sync, and the two pages."""
    from calendars.models import BusyInterval
    from calendars.services.busy_sync import connection_sync
    from graph_sandbox import demo

    address = demo.ADELE.address
    seed_busy_time(address)
    host, connection = connect_host(email="bench-host@example.com", address=address)
    slots_page = slots_page_create(host)
    book_page = book_page_create(host)
    personal_calendar_read(connection, (slots_page, book_page))
    outcome = connection_sync(connection_id=connection.pk)
    assert outcome.status == "synced", outcome
    print(f"seeded: {BusyInterval.objects.count()} busy intervals in 2 calendars", flush=True)
    return slots_page, book_page


# --- processes ------------------------------------------------------------------------


def production_env(product, *, var_dir: str, database_url: str, port: int) -> dict[str, str]:
    from django.conf import settings

    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", var_dir),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "scheduleonce.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "s3cr3t-" * 8,
        "TOKEN_ENCRYPTION_KEYS": ",".join(settings.TOKEN_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": database_url,
        "CACHE_URL": os.environ["CACHE_URL"],
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "MS_CLIENT_ID": settings.MS_CLIENT_ID,
        "MS_CLIENT_SECRET": settings.MS_CLIENT_SECRET,
        "MS_AUTHORITY": settings.MS_AUTHORITY,
        "MS_GRAPH_URL": settings.MS_GRAPH_URL,
        "MS_CA_BUNDLE": settings.MS_CA_BUNDLE,
        "GRAPH_SANDBOX": "0",
        "EMAIL_URL": "dummymail://",
        "DEFAULT_FROM_EMAIL": "ScheduleOnce <bookings@example.com>",
        "BOOKING_RATE_LIMIT": "0",
        "VAR_DIR": var_dir,
        "STATIC_ROOT": str(Path(var_dir) / "static"),
        "LOG_LEVEL": "WARNING",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_for(check, *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def answers(url: str) -> bool:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except OSError:
        return False


def start_worker(env: dict[str, str], log: Path, *, nice: int = 0) -> subprocess.Popen:
    argv = [
        sys.executable, "-m", "celery", "-A", "scheduleonce", "worker", "-l", "INFO",
        "--concurrency", "4", "-n", "httpbench@%h", *WORKER_QUIET,
    ]  # fmt: skip
    if nice:
        argv = ["nice", "-n", str(nice), *argv]
    offset = log.stat().st_size if log.exists() else 0
    worker = start(argv, env, log)
    wait_for(lambda: b" ready." in log.read_bytes()[offset:], what="the Celery worker", timeout=90)
    return worker


# --- CPU time -----------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its live descendants (Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    family, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        family.update(children)
        frontier.extend(children)
    total = 0
    for pid in family:
        fields = _stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


class CpuMeter:
    """CPU seconds the web server, the Celery worker and this process (the Graph sandbox)
    spent between ``start`` and ``stop``: on a shared machine, the work per request."""

    def __init__(self) -> None:
        self.web: int | None = None
        self.worker: int | None = None

    def sample(self) -> dict[str, float | dict[int, float]]:
        times = os.times()
        found = {"sandbox": times.user + times.system}
        for name in ("web", "worker"):
            pid = getattr(self, name)
            found[name] = cpu_seconds(pid) if pid else 0.0
        found["postgres"] = postgres_cpu_seconds()
        return found


def _spent(after: float | dict[int, float], before: float | dict[int, float]) -> float:
    """CPU seconds between two samples. For PostgreSQL's backends (by process id): a
    backend that ended meanwhile took its count with it, so only those still there are
    counted, each from its first sample (or from nothing if new). Summing all backends
    at both ends gave negative figures when a connection closed during a row."""
    if isinstance(after, dict):
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    return after - before


def postgres_cpu_seconds() -> dict[int, float]:
    """User + system CPU seconds of each PostgreSQL server process (on this machine)
    serving the bench's database: the web's, the worker's and this process's connections
    (kept open: ``CONN_MAX_AGE``); none when the server runs elsewhere."""
    from django.db import connection

    title = f" {connection.settings_dict['NAME']} ".encode()
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if title not in (entry / "cmdline").read_bytes():
                continue
        except OSError:
            continue
        fields = _stat(int(entry.name))
        if fields and fields[0] != "Z":
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return found


METER = CpuMeter()


# --- load -------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, *, seconds: int, script: str | None = None, args: list[str] = ()) -> Load:
    argv = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    argv += ["-H", PROXY_HEADER, "--timeout", "10s"]
    if script:
        argv += ["-s", script]
    argv.append(url)
    if args:
        argv += ["--", *args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    if "Requests/sec" not in out or len(percentiles) != 2:
        raise RuntimeError(f"wrk answered something unexpected:\n{out}")
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad += sum(int(n) for n in errors.groups()) if errors else 0
    return Load(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),
        bad=bad,
    )


def next_free_start(page) -> datetime:
    """The first quarter hour after the page's latest booking, and at least 40 days out."""
    from django.db.models import Max

    latest = page.bookings.aggregate(latest=Max("start"))["latest"]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today + timedelta(days=BOOK_FROM_DAYS)
    return max(first, latest + timedelta(minutes=15)) if latest else first


@dataclass
class Row:
    name: str
    healthz: Load
    load: Load
    cpu_ms: dict[str, float]  # per request: web workers, Celery worker, sandbox

    @property
    def ratio(self) -> float:
        return self.load.rps / self.healthz.rps


def outbox_marks() -> tuple[int, int, int]:
    """The latest booking, push and email rows so far: the next run's work comes after them."""
    from django.db.models import Max

    from booking.models import Booking, BookingEmail
    from calendars.models import PushedEvent

    return tuple(
        model.objects.aggregate(last=Max("pk"))["last"] or 0
        for model in (Booking, PushedEvent, BookingEmail)
    )


def _mailbox_events() -> list:
    """The events bookings made in the sandbox mailbox (they carry a transactionId)."""
    from graph_sandbox import control, demo

    return [e for e in control.events(demo.ADELE.address) if e.transaction_id]


def drained_after(marks: tuple[int, int, int], timeout: float = 180):
    """A wait until the worker has pushed every event and sent every email asked for
    since ``marks``; then says how long after the load the last booking reached the
    sandbox mailbox, and whether every booking is there exactly once."""
    from booking.models import Booking, BookingEmail, EmailState
    from calendars.models import PushedEvent, PushState

    known = {e.transaction_id for e in _mailbox_events()}

    def wait() -> None:
        load_ended = datetime.now(UTC)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pushes = PushedEvent.objects.filter(pk__gt=marks[1], state=PushState.PENDING)
            emails = BookingEmail.objects.filter(pk__gt=marks[2], state=EmailState.PENDING)
            if not (pushes.exists() or emails.exists()):
                break
            time.sleep(0.2)
        else:
            print(f"  (the worker had not caught up after {timeout:.0f} s)", flush=True)
        booked = Booking.objects.filter(pk__gt=marks[0]).count()
        made = [e for e in _mailbox_events() if e.transaction_id not in known]
        ids = {e.transaction_id for e in made}
        rows = PushedEvent.objects.filter(pk__gt=marks[1])
        wanted = {str(t) for t in rows.values_list("transaction_id", flat=True)}
        last = max((e.created_at for e in made), default=load_ended)
        print(
            f"  {booked} bookings; {len(made)} new events in the sandbox mailbox "
            f"({len(ids)} distinct, {len(ids & wanted)} of the rows' keys); "
            f"exactly once: {len(made) == len(ids) == booked and ids <= wanted}; the last "
            f"arrived {(last - load_ended).total_seconds():.1f} s after the load ended",
            flush=True,
        )

    return wait


def measure(name: str, base: str, path: str, *, seconds: int, settle=None, **wrk_options) -> Row:
    healthz = wrk(f"{base}/healthz", seconds=seconds)
    before = METER.sample()
    load = wrk(f"{base}{path}", seconds=seconds, **wrk_options)
    if settle:
        settle()  # the worker's share of these requests, however long it lags behind
    after = METER.sample()
    cpu_ms = {k: _spent(after[k], before[k]) * 1000 / max(load.requests, 1) for k in after}
    row = Row(name, healthz, load, cpu_ms)
    print(
        f"  {name}: {load.rps:.1f}/s ({row.ratio:.3f} of /healthz's {healthz.rps:.0f}/s), "
        f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, {load.bad} bad; CPU ms per "
        f"request: web {cpu_ms['web']:.2f}, worker {cpu_ms['worker']:.2f}, "
        f"sandbox {cpu_ms['sandbox']:.2f}, PostgreSQL {cpu_ms['postgres']:.2f}",
        flush=True,
    )
    return row


def booking_post(base: str, page, script: str, *, seconds: int, name: str, settle=None) -> Row:
    first = next_free_start(page)
    args = [str(int(first.timestamp())), str(15 * 60), str(THREADS), "0"]
    return measure(
        name, base, f"/api/booking-pages/{page.slug}/bookings", seconds=seconds, script=script,
        args=args, settle=settle,
    )  # fmt: skip


def one_run(
    base: str, book_page, script: str, *, seconds: int, worker_start, only: str, nice: int = 0
):
    today = datetime.now(UTC).date()
    month_end = today + timedelta(days=SLOTS_DAYS - 1)
    week_end = today + timedelta(days=6)
    gets = {
        "GET /healthz": "/healthz",
        "slots API, 7 days": SLOTS_PATH.format(today, week_end),
        "slots API, 31 days": SLOTS_PATH.format(today, month_end),
        "booking page HTML": "/book/bench/",
    }
    rows = [
        measure(name, base, path, seconds=seconds) for name, path in gets.items() if only in name
    ]
    if only in "booking POST, worker":
        redis_flush()  # no backlog from the last run's "no worker" row
        marks = outbox_marks()
        worker = worker_start()
        try:
            name = "booking POST, worker" + (f" (nice {nice})" if nice else "")
            rows.append(
                booking_post(
                    base,
                    book_page,
                    script,
                    seconds=seconds,
                    name=name,
                    settle=drained_after(marks),
                )
            )
        finally:
            stop(worker)
            METER.worker = None
    if only in "booking POST, no worker":
        name = "booking POST, no worker"
        rows.append(booking_post(base, book_page, script, seconds=seconds, name=name))
    return rows


def print_table(runs: list[list[Row]], *, loads: list[tuple[float, float, float]]) -> None:
    print()
    print(
        "| request | throughput vs `/healthz` | req/s | p50 / p99 | web CPU ms/req | "
        "worker + sandbox CPU ms/req | failed |"
    )
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for index, row in enumerate(runs[0]):
        same = [run[index] for run in runs]
        ratios = sorted(r.ratio for r in same)
        ratio = f"{ratios[len(ratios) // 2]:.3f}"
        if len(same) > 1:
            ratio += f" ({ratios[0]:.3f}-{ratios[-1]:.3f})"
        p50 = sorted(r.load.p50_ms for r in same)[len(same) // 2]
        p99 = sorted(r.load.p99_ms for r in same)[len(same) // 2]
        rps = sorted(r.load.rps for r in same)[len(same) // 2]
        bad = sum(r.load.bad for r in same)
        web = sorted(r.cpu_ms["web"] for r in same)[len(same) // 2]
        back = sorted(r.cpu_ms["worker"] + r.cpu_ms["sandbox"] for r in same)[len(same) // 2]
        print(
            f"| {row.name} | {ratio} | {rps:.0f} | {p50:.1f} / {p99:.1f} ms | {web:.2f} | "
            f"{back:.2f} | {bad} |"
        )
    print()
    shown = ", ".join(f"{one:.2f} {five:.2f} {fifteen:.2f}" for one, five, fifteen in loads)
    print(f"load average (1, 5, 15 min) after each run: {shown}; {os.cpu_count()} CPUs")
    print(
        f"wrk -t{THREADS} -c{CONNECTIONS}; medians over {len(runs)} run(s), ratio range in "
        "brackets; each row right after its own /healthz run"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole table")
    parser.add_argument("--only", default="", help="only the rows whose name contains this")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker (more than 1: gunicorn's gthread worker)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="run the Celery worker at this nice level (6: as docker-compose.yml weighs it)",
    )
    parser.add_argument(
        "--profile-web",
        metavar="DIR",
        default="",
        help="profile each gunicorn worker (bench/gunicorn_profile.py) into DIR; read "
        "them with python -m bench.gunicorn_profile DIR (slows the web side: figures "
        "of such a run are not comparable)",
    )
    args = parser.parse_args()
    missing = missing_services()
    if missing:
        print(f"skipped: {missing}")
        return 0
    database_url = bench_database_url()
    database_create(database_url)
    redis_flush()
    processes: list[subprocess.Popen] = []
    var_dir = tempfile.mkdtemp(prefix="http-bench-")
    try:
        product = start_product(
            var_dir,
            DATABASE_URL=database_url,
            CACHE_URL=os.environ["CACHE_URL"],
            CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
        )
        try:
            _, book_page = seed_product()
            redis_flush()  # tasks queued while seeding (the sync) are done already
            return serve_and_measure(product, book_page, var_dir, database_url, args, processes)
        finally:
            for process in processes:
                stop(process)
            product.stop()
    finally:
        from django.db import connections

        connections.close_all()
        database_drop(database_url)
        shutil.rmtree(var_dir, ignore_errors=True)


def serve_and_measure(product, book_page, var_dir, database_url, args, processes) -> int:
    port = free_port()
    env = production_env(product, var_dir=var_dir, database_url=database_url, port=port)
    log = Path(var_dir) / "processes.log"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    gunicorn = [
        sys.executable, "-m", "gunicorn", "scheduleonce.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30",
    ]  # fmt: skip
    if args.threads > 1:
        gunicorn += ["--threads", str(args.threads)]
    if args.profile_web:
        Path(args.profile_web).mkdir(parents=True, exist_ok=True)
        env = {**env, "WEB_PROFILE_DIR": str(Path(args.profile_web).resolve())}
        gunicorn += ["--config", "python:bench.gunicorn_profile"]
    processes.append(start(gunicorn, env, log))
    METER.web = processes[-1].pid
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: answers(f"{base}/healthz"), what="gunicorn")
    for path in ("/book/bench/", "/api/booking-pages/bench/slots?start=2000-01-01&end=2000-01-02"):
        answers(base + path)  # warm both workers' imports
    today = datetime.now(UTC).date()
    month = f"{base}{SLOTS_PATH.format(today, today + timedelta(days=SLOTS_DAYS - 1))}"
    request = urllib.request.Request(month, headers={"X-Forwarded-Proto": "https"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        print(f"31 days of page bench: {len(json.load(response)['slots'])} slots", flush=True)
    script = Path(var_dir) / "post.lua"
    script.write_text(POST_SCRIPT)

    def worker_start() -> subprocess.Popen:
        worker = start_worker(env, log, nice=args.worker_nice)
        processes.append(worker)
        METER.worker = worker.pid
        return worker

    runs, loads = [], []
    for number in range(args.runs):
        print(f"run {number + 1} of {args.runs}", flush=True)
        runs.append(
            one_run(
                base,
                book_page,
                str(script),
                seconds=args.duration,
                worker_start=worker_start,
                only=args.only,
                nice=args.worker_nice,
            )
        )
        loads.append(os.getloadavg())
    print_table(runs, loads=loads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
