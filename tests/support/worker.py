"""Real Celery worker processes for tests.

The worker is the production command (`celery -A scheduleonce worker`) with
DATABASE_URL pointed at the test database, so tasks it runs change what the
test then reads. It uses whatever broker the test run is configured with:
Redis in CI, the embedded filesystem broker locally.

Starting and stopping a worker costs seconds, so workers are kept for the whole run
in a ``WorkerPool`` and lent to one test at a time (by their concurrency and extra
environment). Between tests a pooled worker consumes nothing (its consumer of the
queue is cancelled, and it is given back only when it holds no task), so a test sees
exactly what a freshly started worker would; a worker a test killed is dropped, and
the pool stops the rest at the end of the run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url_for_subprocess() -> str:
    """A DATABASE_URL naming the database this test run created."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "localhost"
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{auth}@{host}{port}/{db['NAME']}"
    raise RuntimeError(f"no worker support for {db['ENGINE']}")


class CeleryWorker:
    """One `celery worker` process; its output is kept for assertions and failure reports."""

    def __init__(self, *, extra_env: dict[str, str], concurrency: int = 2, name: str = "test"):
        self.extra_env = extra_env
        self.concurrency = concurrency
        self.name = f"{name}-{os.getpid()}-{id(self)}"
        self.process: subprocess.Popen | None = None
        self.lines: list[str] = []
        self._since = 0  # output before this line belongs to earlier tests
        self._ready = threading.Event()

    def start(self, timeout: float = 60) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        self._ready.clear()
        self.process = subprocess.Popen(
            self.argv(),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError("celery worker did not become ready:\n" + self.output())

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scheduleonce",
            "worker",
            "-l",
            "INFO",
            "-c",
            str(self.concurrency),
            "-n",
            f"{self.name}@%h",
            "--without-gossip",
            "--without-mingle",
        ]

    def is_ready(self, line: str) -> bool:
        return " ready." in line

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if self.is_ready(line):
                self._ready.set()

    def output(self) -> str:
        return "".join(self.lines[self._since :][-200:])

    def all_output(self) -> str:
        """Everything it printed since it was lent to the current test."""
        return "".join(self.lines[self._since :])

    @property
    def hostname(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def lent(self) -> None:
        """A new test uses this worker: its output starts here."""
        self._since = len(self.lines)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and its pool), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        self.request_stop()
        self.wait_stopped(timeout)

    def request_stop(self) -> None:
        """Ask for a warm shutdown (TERM to the main process only: it stops its own pool;
        a TERM to the whole group would kill the pool's children under it)."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)

    def wait_stopped(self, timeout: float = 20) -> None:
        if not self.process or self.process.poll() is not None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


QUEUE = "celery"


def _replied(replies: list | None, hostname: str) -> bool:
    return any(hostname in reply for reply in replies or [])


class WorkerPool:
    """Worker processes kept for the whole run, each lent to one test at a time."""

    def __init__(self, app) -> None:
        self._app = app
        self._idle: dict[tuple, list[CeleryWorker]] = {}
        self._all: list[CeleryWorker] = []

    @staticmethod
    def _key(concurrency: int, extra_env: dict[str, str]) -> tuple:
        return (concurrency, tuple(sorted(extra_env.items())))

    def lend(self, *, concurrency: int = 2, extra_env: dict[str, str]) -> CeleryWorker:
        """An idle worker started the same way, or a new one."""
        idle = self._idle.setdefault(self._key(concurrency, extra_env), [])
        while idle:
            worker = idle.pop()
            control = self._app.control
            if worker.alive and _replied(
                control.add_consumer(QUEUE, destination=[worker.hostname], reply=True, timeout=5),
                worker.hostname,
            ):
                worker.lent()
                return worker
            worker.kill()
        worker = CeleryWorker(extra_env=extra_env, concurrency=concurrency)
        worker.start()
        self._all.append(worker)
        return worker

    def give_back(self, worker: CeleryWorker) -> None:
        """Keep it for the next test if it is alive, consumes nothing and holds no task."""
        if not worker.alive:
            return
        if self._quiet(worker):
            self._idle[self._key(worker.concurrency, worker.extra_env)].append(worker)
        else:
            worker.kill()  # it still holds work of the test that ended: not reusable

    def _quiet(self, worker: CeleryWorker) -> bool:
        control, name = self._app.control, worker.hostname
        cancelled = control.cancel_consumer(QUEUE, destination=[name], reply=True, timeout=5)
        if not _replied(cancelled, name):
            return False
        inspect = control.inspect(destination=[name], timeout=5)
        for held in (inspect.active(), inspect.reserved(), inspect.scheduled()):
            if held is None or held.get(name):
                return False
        return True

    def stop_all(self) -> None:
        # Ask them all at once: each takes a few seconds to shut down.
        for worker in self._all:
            worker.request_stop()
        for worker in self._all:
            worker.wait_stopped()


class CeleryBeat(CeleryWorker):
    """One `celery beat` process (the production command) with its own schedule file.

    ``--max-interval 1`` makes it look at its schedule every second, so entries with
    short test intervals (e.g. ``CALENDAR_SWEEP_INTERVAL=2``) run on time.
    """

    def __init__(self, *, extra_env: dict[str, str], schedule_file: Path):
        super().__init__(extra_env=extra_env, name="beat")
        self.schedule_file = schedule_file

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scheduleonce",
            "beat",
            "-l",
            "INFO",
            "-s",
            str(self.schedule_file),
            "--max-interval",
            "1",
        ]

    def is_ready(self, line: str) -> bool:
        return "beat: Starting" in line


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.2, message: str = ""):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        time.sleep(interval)
