"""/metrics with real processes: 2 gunicorn workers take bookings, 2 Celery workers push
them to the Graph sandbox (a third of its answers 429), and a scrape counts every one.

Every process writes its counters in one shared directory (PROMETHEUS_MULTIPROC_DIR);
a Celery worker is then killed and a gunicorn worker restarted, and the counts stay
exact: bookings against the bookings made, pushes against the rows, Graph requests
against the sandbox's own log of what it received.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from calendars.models import PushedEvent
from tests.support.net import free_port
from tests.support.office365 import ADELE, all_settled, offered, states, tomorrow
from tests.support.worker import ROOT, database_url_for_subprocess, wait_until

pytestmark = pytest.mark.slow

BOOKINGS = 12
FAST = {
    "CALENDAR_RETRY_BASE": "1",
    "CALENDAR_RETRY_CAP": "2",
    "CALENDAR_PUSH_MAX_ATTEMPTS": "15",
    "CALENDAR_TASK_LEASE": "12",
}


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def total(samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


class Gunicorn:
    """`gunicorn scheduleonce.wsgi:application --workers 2`, the production command."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "scheduleonce.wsgi:application",
             "--workers", "2", "--bind", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_until(self._answers, timeout=60, message="gunicorn did not start")
            wait_until(lambda: len(self.workers()) == 2, timeout=30)
        except BaseException:
            self.stop()  # never leave a server behind a failed start
            raise

    def _answers(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5).ok
        except requests.RequestException:  # not up yet, or slow to answer on a busy machine
            return False

    def workers(self) -> list[int]:
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return children

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def metrics_dir(tmp_path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    return path


def test_a_scrape_counts_every_booking_push_and_graph_call_of_every_process(
    client, adele, intro, o365, worker_factory, metrics_dir
):
    o365.control.faults_set(kinds=("429",), fraction=0.3, mailbox=ADELE, retry_after=1, seed=16)
    env = {
        **o365.worker_env(),
        **FAST,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_FORMAT": "json",
    }
    web_env = {
        **os.environ,
        **env,
        "DATABASE_URL": database_url_for_subprocess(),
        "DEBUG": "1",
        "BOOKING_RATE_LIMIT": "0",
    }
    first_log_id = max((c.id for c in o365.control.request_log()), default=0)
    workers = [worker_factory(**env), worker_factory(**env)]
    web = Gunicorn(web_env)
    try:
        starts = [start for start, _ in offered(client, "intro", first=tomorrow())][:BOOKINGS]
        for number, start in enumerate(starts):
            answer = requests.post(
                f"http://127.0.0.1:{web.port}/api/booking-pages/intro/bookings",
                json={"start": start, "name": f"Invitee {number}",
                      "email": f"invitee{number}@example.com", "timezone": "Europe/London"},
                headers={"X-Request-ID": f"metrics-test-{number}"},
                timeout=30,
            )  # fmt: skip
            assert answer.status_code == 201, answer.text[:300]
            assert answer.headers["X-Request-ID"] == f"metrics-test-{number}"
        wait_until(all_settled, timeout=120, interval=0.5, message=f"{states()}")
        assert PushedEvent.objects.count() == BOOKINGS

        workers[0].kill()  # a crash: its files stay, and are folded by the next scrape
        old = web.workers()
        os.kill(old[0], signal.SIGTERM)  # gunicorn starts another worker in its place
        wait_until(lambda: len(set(web.workers()) - set(old)) == 1 and len(web.workers()) == 2)

        first = scrape(web.port)
        second = scrape(web.port)
    finally:
        web.stop()

    calls = [c for c in o365.control.request_log(after_id=first_log_id, path_prefix="/v1.0")]
    throttled = [c for c in calls if c.status == 429]
    assert throttled, "the sandbox really throttled"
    for samples in (first, second):
        assert total(samples, "scheduleonce_bookings_total") == BOOKINGS
        assert total(samples, "scheduleonce_push_attempts_total", result="synced") == BOOKINGS
        assert total(samples, "scheduleonce_push_attempts_total") >= BOOKINGS
        assert total(samples, "scheduleonce_graph_requests_total") == len(calls)
        assert total(samples, "scheduleonce_graph_requests_total", throttled="true") == len(
            throttled
        )
        assert total(samples, "scheduleonce_graph_request_seconds_count") == len(calls)
        assert total(samples, "scheduleonce_pushes", state="pending") == 0
        assert total(samples, "scheduleonce_calendar_connections", status="connected") == 1
    assert sorted(p.name for p in metrics_dir.glob("counter_*.db") if "archive" in p.name) == [
        "counter_archive.db"
    ], "the killed worker's files were folded"

    # The Celery workers' JSON lines name the push, its row and the booking's request id.
    pushes = [
        entry
        for worker in workers
        for line in worker.all_output().splitlines()
        if line.startswith("{")
        and (entry := json.loads(line)).get("task") == "calendars.tasks.push_event"
        and "row" in entry
    ]
    assert pushes
    assert {entry["request_id"] for entry in pushes} <= {
        f"metrics-test-{n}" for n in range(BOOKINGS)
    }
    assert len({entry["request_id"] for entry in pushes}) == BOOKINGS
