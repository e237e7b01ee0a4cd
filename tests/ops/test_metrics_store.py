"""The counter files of ended processes are folded into an archive: fewer files, same counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ops.metrics_store import dead_processes_fold, files_collector

ROOT = Path(__file__).resolve().parents[2]
# A process that counts, as a gunicorn or Celery worker does, then ends.
COUNTING = """
from ops import metrics
for _ in range({bookings}):
    metrics.booking_count()
metrics.push_attempt_count(result="synced")
metrics.graph_request_observe(status=429, throttled=True, seconds=0.3)
"""


@pytest.fixture
def metrics_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return tmp_path


def count_in_a_process(directory: Path, *, bookings: int) -> None:
    subprocess.run(
        [sys.executable, "-c", COUNTING.format(bookings=bookings)],
        cwd=ROOT,
        env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=60,
    )


def totals() -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in files_collector().collect()
        for sample in family.samples
    }


def test_folding_keeps_every_count_and_leaves_one_file_per_kind(metrics_dir):
    count_in_a_process(metrics_dir, bookings=3)
    count_in_a_process(metrics_dir, bookings=4)
    assert len(list(metrics_dir.glob("counter_*.db"))) == 2
    before = totals()
    assert before[("scheduleonce_bookings_total", ())] == 7

    assert dead_processes_fold() == 4  # two counter and two histogram files

    assert sorted(p.name for p in metrics_dir.glob("*.db")) == [
        "counter_archive.db",
        "histogram_archive.db",
    ]
    assert totals() == before
    assert dead_processes_fold() == 0

    count_in_a_process(metrics_dir, bookings=5)
    dead_processes_fold()

    after = totals()
    assert after[("scheduleonce_bookings_total", ())] == 12
    assert after[("scheduleonce_push_attempts_total", (("result", "synced"),))] == 3
    throttled = (("status", "4xx"), ("throttled", "true"))
    assert after[("scheduleonce_graph_requests_total", throttled)] == 3
    assert after[("scheduleonce_graph_request_seconds_count", ())] == 3
    assert after[("scheduleonce_graph_request_seconds_bucket", (("le", "0.25"),))] == 0
    assert after[("scheduleonce_graph_request_seconds_bucket", (("le", "0.5"),))] == 3


def test_the_files_of_running_processes_are_left_alone():
    from ops import metrics
    from ops.metrics_store import metrics_dir as directory

    metrics.booking_count()  # written by this process, which is alive
    ours = directory() / f"counter_{metrics.process_identifier()}.db"
    assert ours.exists()

    dead_processes_fold()

    assert ours.exists()


def test_a_new_celery_pool_process_folds_the_ended_ones(metrics_dir):
    from celery import signals

    count_in_a_process(metrics_dir, bookings=2)

    signals.worker_process_init.send(sender=None)

    assert [p.name for p in metrics_dir.glob("counter_*.db")] == ["counter_archive.db"]
    assert totals()[("scheduleonce_bookings_total", ())] == 2
