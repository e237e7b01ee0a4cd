"""``manage.py run``: the whole product in one terminal, for local use and demos.

Migrates, seeds the demo data, then runs the web server, a Celery worker, Celery
beat and (when it is on) the Graph sandbox side by side, prefixing each line of
their output with the process name. Ctrl-C stops all of them; if one of them
dies, the others are stopped too; so does closing the terminal (SIGHUP).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from scheduleonce.celery import WORKER_QUIET

COLOURS = {"web": "36", "worker": "33", "beat": "35", "sandbox": "32"}


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None


class Command(BaseCommand):
    help = "Run the web server, Celery worker and beat (and the Graph sandbox) together."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args, port: int, host: str, **options):
        if not os.environ.get("SITE_URL"):
            # Links printed here, shown in Setup and sent in emails point at this server,
            # whatever its port (the children read the variable; this process is set up).
            settings.SITE_URL = os.environ["SITE_URL"] = f"http://{_browse_host(host)}:{port}"
        if not os.environ.get("CACHE_URL"):
            # One cache for web, worker and beat: a busy-time change a worker stores must
            # reach the slots API's availability cache (a per-process cache would keep the
            # old slots for up to 10 minutes), and rate limits count across processes.
            os.environ["CACHE_URL"] = f"filecache://{settings.VAR_DIR / 'cache'}"
        for alias in settings.DATABASES:
            call_command("migrate", database=alias, interactive=False, verbosity=0)
        call_command("compilemessages", verbosity=0)
        call_command("seed_demo", verbosity=1)
        children = self.children(host=host, port=port)
        address = f"http://{_browse_host(host)}:{port}/"
        listening = "" if _browse_host(host) == host else f" (listening on {host}:{port})"
        self.stdout.write(self.style.SUCCESS(f"ScheduleOnce is starting on {address}{listening}"))
        if apps.is_installed("graph_sandbox"):
            self.announce_sandbox()
        self.stdout.write("Press Ctrl-C to stop the web server, worker, beat and sandbox.\n")
        sys.exit(supervise(children))

    def announce_sandbox(self) -> None:
        """The sandbox's pages live on this web server: tell the children, and the person."""
        pages = os.environ.get("GRAPH_SANDBOX_PAGES_URL") or os.environ["SITE_URL"]
        os.environ["GRAPH_SANDBOX_PAGES_URL"] = pages.rstrip("/")
        self.stdout.write(
            f"Graph sandbox (Microsoft stand-in): https://localhost:{settings.GRAPH_SANDBOX_PORT}"
            f" · mailboxes and events at {pages.rstrip('/')}/graph-sandbox/"
        )

    def children(self, *, host: str, port: int) -> list[Child]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "scheduleonce"]
        children = [
            Child("web", [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"]),
            Child(
                "worker",
                [*celery, "worker", "-l", "INFO", "-c", "2", "-n", "worker@%h", *WORKER_QUIET],
            ),
            Child(
                "beat",
                [*celery, "beat", "-l", "INFO", "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME],
            ),
        ]
        if apps.is_installed("graph_sandbox"):
            sandbox = [python, "manage.py", "run_graph_sandbox"]
            children.append(
                Child("sandbox", [*sandbox, "--port", str(settings.GRAPH_SANDBOX_PORT)])
            )
        return children


def _browse_host(host: str) -> str:
    """The address a browser uses for a server listening on ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104


def supervise(children: list[Child]) -> int:
    """Start every child, relay their output, and stop them all when one stops."""
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    # SIGHUP: the terminal was closed. The children run in their own sessions, so
    # they never get it themselves and would live on, holding the ports.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for child in children:
        child.process = subprocess.Popen(
            child.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
            bufsize=1,
            start_new_session=True,  # we deliver the signals ourselves, once
        )
        threading.Thread(target=relay, args=(child,), daemon=True).start()

    exit_code = 0
    while not stopping.is_set():
        for child in children:
            code = child.process.poll()
            if code is not None:
                print(f"[{child.name}] exited with status {code}; stopping the others.")
                exit_code = code or 1
                stopping.set()
                break
        time.sleep(0.3)
    stop_all(children)
    return exit_code


def relay(child: Child) -> None:
    colour = COLOURS.get(child.name, "0")
    prefix = f"{child.name:>7} | "
    if sys.stdout.isatty():
        prefix = f"\033[{colour}m{prefix}\033[0m"
    for line in child.process.stdout:
        sys.stdout.write(prefix + line)
        sys.stdout.flush()


def stop_all(children: list[Child], grace: float = 10.0) -> None:
    for child in children:
        if child.process.poll() is None:
            # Only the main process: Celery then shuts its pool down warmly itself.
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
