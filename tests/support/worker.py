"""Real Celery worker processes for tests.

The worker is the production command (`celery -A scheduleonce worker`) with
DATABASE_URL pointed at the test database, so tasks it runs change what the
test then reads. It uses whatever broker the test run is configured with:
Redis in CI, the embedded filesystem broker locally.

A graceful stop of a worker costs seconds (its pool winds down); its shutdown is not
what these tests check, so the fixtures end their workers at once (``kill``) when the
test is over.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from scheduleonce.celery import WORKER_QUIET

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
            *WORKER_QUIET,
        ]

    def is_ready(self, line: str) -> bool:
        return " ready." in line

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if self.is_ready(line):
                self._ready.set()

    def output(self) -> str:
        return "".join(self.lines[-200:])

    def all_output(self) -> str:
        return "".join(self.lines)

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
