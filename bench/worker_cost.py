"""What a booking costs the Celery worker, in-process: tasks, queries, CPU, Graph calls.

    .venv/bin/python -m bench.worker_cost [--bookings 200] [--profile [--profile-out FILE]] [--sql]

Figures that hardly depend on how busy the machine is. A throw-away product (the
Graph sandbox's TLS server in this process, a host connected through the real
sign-in code, a page open around the clock with a second calendar for busy time,
as in ``bench.http``) takes ``--bookings`` bookings through the booking service.
Nothing goes to a broker: every message a commit (or a task) sends is recorded and
then run right here, in this thread, as a worker process runs it (a warm process:
Django, MSAL and the HTTP session already loaded, the database connection open).
For each task name (a bundle counts once: its items run inside it) it
prints how many ran per booking, queries and CPU ms per
run (this thread only), and the calls the sandbox answered. The sandbox's own CPU
(its threads) is shown apart: in production that is Microsoft's. Emails go to
Django's in-memory backend, which builds each MIME message as SMTP would.

With ``DATABASE_URL`` a PostgreSQL URL (and ``CACHE_URL`` a Redis URL) the
product runs on them, in a database ``<name>_cost`` made and dropped here;
otherwise on SQLite in a temporary directory. ``--profile`` adds a cProfile of
the worker's share (top 30 by cumulative time).
On PostgreSQL on this machine it also prints the backend's CPU per booking
(``/proc/<pid>/schedstat``); ``--sql`` lists the first booking's statements, each marked
``P`` when it ran as a prepared statement (``ops.prepared``), with the backend's CPU
while it ran (mean over the bookings).

``--emails``: the email task's own share (``booking.email_outbox.booking_emails_deliver``,
each row's claim, reads, renders, .ics, MIME building, sending and settle) measured
apart: CPU ms, queries, Python calls (cProfile of that function alone, its top functions
printed), template renders, emails and mail connections opened, per booking. It takes
the place of ``--profile``.

``--smtp``: the emails go over ``smtp+tls://`` to a local STARTTLS server instead
(``bench._smtp_sink``, threads of this process: its CPU is in the sandbox column), as in
production: each email's connection, EHLO, TLS handshake (the Graph sandbox's
certificate, trusted beside the system's CA certificates) and bytes are then counted.

``--real-worker`` (PostgreSQL and ``CELERY_BROKER_URL`` a Redis URL, whose database is
emptied) instead books through the real publisher into Redis and then starts a real
`celery worker` with 4 processes, as production runs it, and measures its CPU until
every push and email is done: the cost per booking with Celery's own handling of each
message and the database connections included.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from bench._calendar import connect_host, throwaway_product
from bench.booking_post import BackendClock
from scheduleonce.celery import WORKER_QUIET

WARMUP = 5  # bookings made and worked first, not counted (imports, caches, connections)
# The worker as bench.http starts it; --worker-arg adds to it (later ones win).
WORKER_ARGS = ["worker", "-l", "INFO", "--concurrency", "4", *WORKER_QUIET]


class Recorder:
    """Stands in for ``outbox.dispatch.task_send``: keeps what would go to the broker."""

    def __init__(self) -> None:
        self.queue: list[tuple[str, list, dict]] = []

    def __call__(
        self, name: str, *, args: list, countdown: float | None = None, options=None
    ) -> bool:
        self.queue.append((name, list(args), dict(options or {})))
        return True


def make_page(host, connection):
    from bench.http import book_page_create, personal_calendar_read

    page = book_page_create(host)
    personal_calendar_read(connection, [page])
    return page


def book(page, starts: list[datetime], *, together: int = 1) -> tuple[float, int]:
    """Book each of ``starts``; (CPU seconds, queries) of the booking service itself.
    ``together``: that many bookings at a time wait for the publisher thread, as under
    load, so that it sends them as one message (``outbox.dispatch.BUNDLE_MAX_JOBS``)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from booking.services.bookings import Invitee, booking_create
    from outbox import dispatch

    cpu = 0.0
    queries = 0
    for number, start in enumerate(starts):
        if number % together == 0 and together > 1:
            gate = _publisher_held()
        invitee = Invitee(
            name=f"Invitee {number}", email=f"i{number}@example.com", time_zone="Europe/Berlin"
        )
        with CaptureQueriesContext(connection) as captured:
            began = time.thread_time()
            booking_create(page=page, start=start, invitee=invitee)
            cpu += time.thread_time() - began
        queries += len(captured)
        if together > 1 and (number % together == together - 1 or number == len(starts) - 1):
            gate.set()
        if together == 1 or gate.is_set():
            dispatch.publisher_drain()  # the sends after commit (from the publisher thread)
    return cpu, queries


def _publisher_held():
    """Keep the publisher thread busy (on a job that sends nothing) until the returned
    event is set: the jobs queued meanwhile are then sent together."""
    import contextvars
    import threading

    from outbox import dispatch

    gate, holding = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        gate.wait(60)

    dispatch.publisher_drain()
    dispatch._publisher().put(([], None, contextvars.copy_context()))
    send_jobs = dispatch._send_jobs

    def held(jobs):
        dispatch._send_jobs = send_jobs
        hold()
        return send_jobs(jobs)

    dispatch._send_jobs = held
    holding.wait(10)
    return gate


def drain(
    recorder: Recorder, stats: dict | None, profiler=None, show_sql: list | None = None
) -> None:
    """Run every recorded task (and what they queue in turn) here, oldest first."""
    from celery import current_app, signals
    from django.core import mail
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from graph_sandbox import control

    number = 0
    while recorder.queue:
        name, args, options = recorder.queue.pop(0)
        number += 1
        task = current_app.tasks[name]
        # As a worker runs the message: with the time limits it carries, if any.
        limits = (options.get("time_limit"), options.get("soft_time_limit"))
        last_call = _last_call_id(control)
        backend = BackendClock(connection) if stats is not None else None
        began_thread, began_process = time.thread_time(), time.process_time()
        # Each statement: whether it ran prepared (ops.prepared), the backend's CPU ns.
        ran: list[tuple[bool, int]] = []
        # Only with --sql: a wrapper's calls would show in --profile.
        flagged = (
            connection.execute_wrapper(_prepared_flag(ran, backend))
            if show_sql is not None
            else contextlib.nullcontext()
        )
        with CaptureQueriesContext(connection) as captured, flagged:
            if profiler:
                profiler.enable()
            task.push_request(id=f"cost-{number}", timelimit=limits if limits[0] else None)
            # Celery's signals around the task, as a worker sends them (the database
            # connection is looked at, ops.celery_context; the log context bound).
            signals.task_prerun.send(sender=task, task_id=f"cost-{number}", task=task, args=args)
            try:
                task.run(*args)
            finally:
                signals.task_postrun.send(
                    sender=task, task_id=f"cost-{number}", task=task, args=args, retval=None
                )
                task.pop_request()
            if profiler:
                profiler.disable()
        thread = time.thread_time() - began_thread
        process = time.process_time() - began_process
        if stats is None:
            continue
        row = stats[name]
        if show_sql is not None:
            # BEGIN, COMMIT and ROLLBACK are logged, not run through execute wrappers.
            flags = iter(ran)
            statements = [
                (query["sql"], *((False, 0) if query["sql"] in _TRANSACTIONAL else next(flags)))
                for query in captured.captured_queries
            ]
            if not show_sql:
                show_sql.extend([sql, was_prepared, ns] for sql, was_prepared, ns in statements)
            elif len(statements) == len(show_sql):  # the same sequence: add up each's CPU
                for kept, (_, _, ns) in zip(show_sql, statements, strict=True):
                    kept[2] += ns
        row["runs"] += 1
        row["pg_cpu"] += (backend.elapsed_ms() or 0.0) if backend else 0.0
        if show_sql is not None:
            row["prepared"] += sum(was_prepared for was_prepared, _ in ran)
        row["cpu"] += thread
        row["others"] += max(0.0, process - thread)
        row["queries"] += len(captured)
        for call in control.request_log(after_id=last_call):
            kind = "token" if call.path.endswith("/token") else call.method
            row["calls"][kind] += 1
    if hasattr(mail, "outbox"):  # the in-memory backend's (not with --smtp)
        mail.outbox.clear()


_TRANSACTIONAL = ("BEGIN", "COMMIT", "ROLLBACK")


def _prepared_flag(ran: list, backend):
    """An ``execute_wrapper`` noting whether each statement ran as a prepared one
    (``ops.prepared``) and the CPU ns its PostgreSQL backend spent meanwhile."""

    def wrapper(execute, sql, params, many, context):
        before = backend._read() if backend else None
        result = execute(sql, params, many, context)
        after = backend._read() if backend else None
        was_prepared = getattr(context["cursor"].cursor, "_ran_prepared", None) is not None
        ran.append((was_prepared, after - before if before and after else 0))
        return result

    return wrapper


class EmailShare:
    """``--emails``: wraps the email task's service (``booking.tasks.booking_emails_deliver``)
    to measure it alone: CPU of this thread, queries, template renders, emails handed to
    the backend and mail connections made; ``profile``: its Python calls too (a cProfile of
    that function alone, whose own cost is then in the CPU)."""

    def __init__(self, *, profile: bool) -> None:
        import cProfile

        self.profiler = cProfile.Profile(time.thread_time) if profile else None
        self.counts: Counter = Counter()
        self.cpu = 0.0
        self.counting = False

    def install(self) -> None:
        import django.core.mail
        from django.core.mail import EmailMessage
        from django.db import connection
        from django.template.base import Template
        from django.test.utils import CaptureQueriesContext

        from booking import tasks
        from ops import mail

        deliver = tasks.booking_emails_deliver
        share = self

        def measured(**kwargs):
            with CaptureQueriesContext(connection) as captured:
                share.counting = True
                if share.profiler:
                    share.profiler.enable()
                began = time.thread_time()
                try:
                    return deliver(**kwargs)
                finally:
                    share.cpu += time.thread_time() - began
                    if share.profiler:
                        share.profiler.disable()
                    share.counting = False
                    share.counts["queries"] += len(captured)

        def counted(owner, name: str, key: str) -> None:
            original = getattr(owner, name)

            def wrapper(*args, **kwargs):
                if share.counting:
                    share.counts[key] += 1
                return original(*args, **kwargs)

            setattr(owner, name, wrapper)

        tasks.booking_emails_deliver = measured
        counted(Template, "render", "renders")
        counted(EmailMessage, "send", "emails")
        # A backend (a connection to the mail server) made: ops.mail's and Django's own.
        counted(mail, "get_connection", "connections")
        counted(django.core.mail, "get_connection", "connections")

    def print(self, bookings: int, profile_out: str | None = None) -> None:
        import io
        import pstats

        counts = self.counts
        print(
            f"\nthe emails' share (booking_emails_deliver), per booking: "
            f"{self.cpu * 1000 / bookings:.2f} CPU ms"
            f"{' (under cProfile)' if self.profiler else ''}, "
            f"{counts['queries'] / bookings:.1f} queries, "
            f"{counts['renders'] / bookings:.2f} template renders, "
            f"{counts['emails'] / bookings:.2f} emails, "
            f"{counts['connections'] / bookings:.2f} mail connections made"
        )
        if not self.profiler:
            return
        if profile_out:
            self.profiler.dump_stats(profile_out)
        text = io.StringIO()
        stats = pstats.Stats(self.profiler, stream=text)
        print(f"its Python calls per booking: {stats.total_calls / bookings:,.0f}")
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        print(text.getvalue())


def _last_call_id(control) -> int:
    from graph_sandbox.models import RequestLogEntry

    return RequestLogEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def report(
    bookings: int,
    *,
    profile: bool,
    profile_out: str | None = None,
    sql: bool = False,
    together: int = 1,
    emails: bool = False,
) -> None:
    from django.utils import timezone

    from graph_sandbox import control, demo
    from outbox import dispatch
    from scheduleonce.celery import app

    app.loader.import_default_modules()  # every task, as a worker process has them
    host, connection = connect_host(email="cost-host@example.com", address=demo.ADELE.address)
    page = make_page(host, connection)
    recorder = Recorder()
    dispatch.task_send = recorder  # sent from the publisher thread, as in production
    first = (timezone.now() + timedelta(days=40)).astimezone(UTC)
    first = first.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [first + timedelta(minutes=15 * n) for n in range(WARMUP + bookings)]

    book(page, starts[:WARMUP])
    drain(recorder, None)
    recorder.queue.clear()
    web_cpu, web_queries = book(page, starts[WARMUP:], together=together)
    stats: dict = defaultdict(
        lambda: {
            "runs": 0,
            "cpu": 0.0,
            "others": 0.0,
            "queries": 0,
            "prepared": 0,
            "pg_cpu": 0.0,
            "calls": Counter(),
        }
    )
    profiler = None
    share = None
    if emails:
        share = EmailShare(profile=profile)
        share.install()
    elif profile:
        import cProfile

        profiler = cProfile.Profile(time.thread_time)  # CPU of this thread only
    first_sql: list[list] | None = [] if sql else None
    drain(recorder, stats, profiler, first_sql)

    events = control.events(demo.ADELE.address, calendar="Calendar")
    made = sum(1 for event in events if event.transaction_id)
    print(f"{bookings} bookings: {made - WARMUP} events made in the sandbox mailbox")
    print(
        f"booking service (web side, for reference): {web_cpu * 1000 / bookings:.2f} CPU ms, "
        f"{web_queries / bookings:.1f} queries per booking"
    )
    print()
    print(
        f"{'task':45} {'runs/booking':>12} {'queries/run':>11} {'CPU ms/run':>10} "
        f"{'sandbox ms/run':>14}  calls/run"
    )
    total_runs = total_cpu = total_queries = total_others = total_prepared = total_pg = 0.0
    for name, row in sorted(stats.items()):
        runs = row["runs"]
        calls = ", ".join(f"{kind} {n / runs:.2f}" for kind, n in sorted(row["calls"].items()))
        print(
            f"{name:45} {runs / bookings:>12.2f} {row['queries'] / runs:>11.1f} "
            f"{row['cpu'] * 1000 / runs:>10.2f} {row['others'] * 1000 / runs:>14.2f}  "
            f"{calls or '-'}"
        )
        total_runs += runs
        total_cpu += row["cpu"]
        total_queries += row["queries"]
        total_others += row["others"]
        total_prepared += row["prepared"]
        total_pg += row["pg_cpu"]
    print(
        f"{'per booking':45} {total_runs / bookings:>12.2f} {total_queries / bookings:>11.1f} "
        f"{total_cpu * 1000 / bookings:>10.2f} {total_others * 1000 / bookings:>14.2f}"
    )
    print(
        "(CPU ms: the task bodies in a warm process, without Celery's own handling of each "
        "message; sandbox ms: the sandbox's threads meanwhile)"
    )
    if total_pg:
        print(
            f"PostgreSQL backend CPU per booking: {total_pg / bookings:.2f} ms"
            + (
                f"; statements per booking: {total_prepared / bookings:.1f} prepared, "
                f"{(total_queries - total_prepared) / bookings:.1f} not (BEGIN/COMMIT among "
                "them)"
                if sql
                else ""
            )
        )
    if first_sql:
        print("\nthe first booking's statements in the worker:")
        print(
            "(P: run as a prepared statement, ops.prepared; µs: the PostgreSQL backend's CPU "
            "while it ran, mean over the bookings)"
        )
        for number, (statement, prepared, ns) in enumerate(first_sql, 1):
            mark = "P" if prepared else " "
            print(f"  {number:2}. {mark} {ns / 1000 / bookings:7.1f} {statement[:280]}")
    if share:
        share.print(bookings, profile_out)
    if profiler:
        import pstats

        if profile_out:
            profiler.dump_stats(profile_out)
        print()
        stats_out = pstats.Stats(profiler)
        stats_out.sort_stats("cumulative").print_stats(45)
        stats_out.sort_stats("tottime").print_stats(30)


def smtp_sink_start(directory: str) -> str:
    """Start ``bench._smtp_sink`` with the sandbox's certificate; its ``EMAIL_URL``. The
    client trusts the sandbox's CA beside the system's CA certificates (``SSL_CERT_FILE``),
    so that making a TLS context costs what it costs in production."""
    import ssl
    from pathlib import Path

    from bench._smtp_sink import SmtpSink
    from graph_sandbox.tls import ensure_tls_files

    files = ensure_tls_files(Path(directory))
    system = ssl.get_default_verify_paths().cafile  # None when the system has none
    bundle = Path(directory) / "trusted.pem"
    bundle.write_text((Path(system).read_text() if system else "") + files.ca_cert.read_text())
    os.environ["SSL_CERT_FILE"] = str(bundle)
    sink = SmtpSink(certificate=files.server_cert, key=files.server_key)
    return f"smtp+tls://localhost:{sink.port}"


def real_worker(
    bookings: int,
    *,
    database_url: str | None,
    var_dir: str,
    product,
    worker_args: list[str],
    profile_dir: str | None = None,
    redis_commands: bool = False,
    together: int = 1,
) -> None:
    """Book through the real publisher into Redis, then let a real `celery worker` (as
    production starts it, ``worker_args`` added) drain it: its CPU per booking, Celery's
    handling included, split between its main process and its pool processes."""
    import subprocess

    import redis

    from bench.http import TICKS, _stat, cpu_seconds
    from booking.models import BookingEmail, EmailState
    from calendars.models import PushedEvent, PushState
    from graph_sandbox import demo
    from outbox import dispatch

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://") or not database_url:
        print("--real-worker needs DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis)")
        return
    host, connection = connect_host(email="cost-host@example.com", address=demo.ADELE.address)
    page = make_page(host, connection)
    redis.Redis.from_url(broker).flushdb()
    first = (timezone_now() + timedelta(days=40)).astimezone(UTC)
    first = first.replace(hour=0, minute=0, second=0, microsecond=0)
    book(page, [first + timedelta(minutes=15 * n) for n in range(bookings)], together=together)
    assert dispatch.publisher_drain(30)
    env = {
        **product.env,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "CACHE_URL": os.environ.get("CACHE_URL", ""),
        "EMAIL_URL": "dummymail://",
        "LOG_LEVEL": "WARNING",
        "PROFILE_SKIP_TASKS": os.environ.get("PROFILE_SKIP_TASKS", "0"),  # --profile-dir
    }
    log = os.path.join(var_dir, "worker.log")
    command = ["-m", "celery"]
    if profile_dir:
        os.makedirs(profile_dir, exist_ok=True)
        command = ["-m", "bench._profiled_worker", profile_dir]
    argv = [
        sys.executable, *command, "-A", "scheduleonce", *WORKER_ARGS, "-n", "cost@%h",
        *worker_args,
    ]  # fmt: skip

    def main_cpu() -> float:
        fields = _stat(worker.pid)
        return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0

    monitor = _RedisCommands(broker) if redis_commands else None
    with open(log, "wb") as out:
        worker = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        while b" ready." not in open(log, "rb").read():  # noqa: SIM115
            time.sleep(0.05)
        if monitor:
            monitor.start()
        began, cpu0, main0 = time.monotonic(), cpu_seconds(worker.pid), main_cpu()
        pg0 = _worker_backends_ns()
        while (
            PushedEvent.objects.filter(state=PushState.PENDING).exists()
            or BookingEmail.objects.filter(state=EmailState.PENDING).exists()
        ):
            time.sleep(0.1)
        took, cpu = time.monotonic() - began, cpu_seconds(worker.pid) - cpu0
        main = main_cpu() - main0
        pg1 = _worker_backends_ns()
        # Backends the worker opened meanwhile count from their start.
        pg_ms = sum(ns - pg0.get(pid, 0) for pid, ns in pg1.items()) / 1e6
        if monitor:
            monitor.stop()
    finally:
        worker.terminate()
        worker.wait(30)
    pushed = PushedEvent.objects.filter(state=PushState.SYNCED).count()
    sent = BookingEmail.objects.filter(state=EmailState.SENT).count()
    print(
        f"real worker ({' '.join(worker_args) or 'as started in production'}): {bookings} "
        f"bookings drained in {took:.1f} s; {pushed} pushes synced, {sent} email rows sent; "
        f"worker CPU {cpu * 1000 / bookings:.1f} ms per booking (Celery's handling included): "
        f"main process {main * 1000 / bookings:.1f}, pool processes "
        f"{(cpu - main) * 1000 / bookings:.1f}; PostgreSQL backends serving it "
        f"{pg_ms / bookings:.2f} ms per booking"
    )
    if monitor:
        counts = monitor.counts
        total = sum(counts.values())
        print(
            f"Redis commands on the broker's database while draining: {total / bookings:.1f} "
            "per booking ("
            + ", ".join(f"{name} {n / bookings:.2f}" for name, n in counts.most_common())
            + ")"
        )
    if profile_dir:
        print(f"profiles (cProfile): {profile_dir}/main.prof and child-<pid>.prof")


def _worker_backends_ns() -> dict[int, int]:
    """CPU nanoseconds (``/proc/<pid>/schedstat``) of each PostgreSQL backend serving the
    bench's database on this machine, but this process's own connection."""
    from pathlib import Path

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [(own,)] = cursor.fetchall()
    title = f" {connection.settings_dict['NAME']} ".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            if title in (entry / "cmdline").read_bytes():
                found[int(entry.name)] = int((entry / "schedstat").read_text().split()[0])
        except OSError:
            continue
    return found


class _RedisCommands:
    """Counts the commands Redis runs on the broker URL's database (Redis ``MONITOR``)."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.db = self.client.connection_pool.connection_kwargs.get("db", 0)
        self.counts: Counter = Counter()
        self.running = False

    def start(self) -> None:
        import threading

        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            for entry in monitor.listen():
                if not self.running:
                    return
                if entry.get("db") == self.db:
                    self.counts[entry["command"].split(" ", 1)[0].upper()] += 1

    def stop(self) -> None:
        self.running = False
        self.client.ping()  # one more line for the monitor to read, then it stops
        self.thread.join(5)


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sql", action="store_true", help="list the first booking's queries")
    parser.add_argument(
        "--emails",
        action="store_true",
        help="measure the email task's share apart (with --profile: profile it alone)",
    )
    parser.add_argument(
        "--profile-out",
        metavar="FILE",
        help="with --profile or --emails: also write the pstats to FILE",
    )
    parser.add_argument(
        "--real-worker",
        action="store_true",
        help="instead: a real Celery worker drains the bookings from Redis (its CPU measured)",
    )
    parser.add_argument(
        "--smtp",
        action="store_true",
        help="send the emails over smtp+tls to a local STARTTLS server (bench._smtp_sink)",
    )
    parser.add_argument(
        "--worker-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="with --real-worker: one more `celery worker` argument (e.g. --worker-arg=-P "
        "--worker-arg=threads), repeatable",
    )
    parser.add_argument(
        "--profile-dir",
        metavar="DIR",
        help="with --real-worker: cProfile the worker's main and pool processes into DIR",
    )
    parser.add_argument(
        "--redis-commands",
        action="store_true",
        help="with --real-worker: count the broker's Redis commands while the worker drains",
    )
    parser.add_argument(
        "--together",
        type=int,
        default=1,
        metavar="N",
        help="N bookings at a time wait for the publisher (as under load), which sends "
        "them as one message",
    )
    args = parser.parse_args()
    extra = {"EMAIL_URL": "memorymail://", "LOG_LEVEL": "WARNING"}
    if args.smtp:
        import atexit
        import shutil
        import tempfile

        directory = tempfile.mkdtemp(prefix="worker-cost-smtp-")
        atexit.register(shutil.rmtree, directory, True)
        extra["EMAIL_URL"] = smtp_sink_start(directory)
    if os.environ.get("CACHE_URL", "").startswith("redis://"):
        extra["CACHE_URL"] = os.environ["CACHE_URL"]
    if args.real_worker and os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        extra["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"]
    with throwaway_product(prefix="worker-cost-", database_suffix="cost", **extra) as product:
        database_url = product.database_url
        print(f"database: {'PostgreSQL' if database_url else 'SQLite'}", flush=True)
        if args.real_worker:
            real_worker(
                args.bookings,
                database_url=database_url,
                var_dir=product.var_dir,
                product=product,
                worker_args=args.worker_arg,
                profile_dir=args.profile_dir,
                redis_commands=args.redis_commands,
                together=args.together,
            )
        else:
            report(
                args.bookings,
                profile=args.profile,
                profile_out=args.profile_out,
                sql=args.sql,
                together=args.together,
                emails=args.emails,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
