"""A real Celery worker consumes tasks from the configured broker and writes to the database."""

from __future__ import annotations

import time

import pytest

from ops.models import WorkerHeartbeat
from ops.tasks import record_heartbeat
from tests.support.worker import wait_until

pytestmark = [pytest.mark.slow]


def test_a_real_worker_runs_a_task_sent_through_the_broker(celery_worker):
    assert not WorkerHeartbeat.objects.filter(source="worker-test").exists()
    record_heartbeat.delay("worker-test")
    beat = wait_until(
        lambda: WorkerHeartbeat.objects.filter(source="worker-test").first(),
        timeout=60,
        message="the worker never ran the task:\n" + celery_worker.output(),
    )
    assert celery_worker.name in beat.hostname


def _worker_backends() -> dict[int, object]:
    """PostgreSQL backends of this test database other than the test's own: pid → start."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return dict(cursor.fetchall())


def test_a_worker_process_keeps_its_database_connection_across_tasks(worker_factory):
    """Celery's Django fixup would close it after every task (a new PostgreSQL connection,
    and server process, per task); the worker keeps it as Django keeps one across requests."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's view of its connections")
    worker = worker_factory(concurrency=1)
    before = set(_worker_backends())  # the worker's start-up may hold one (its main process)
    after = []
    for source in ("reuse-1", "reuse-2", "reuse-3"):
        record_heartbeat.delay(source)
        wait_until(
            lambda source=source: WorkerHeartbeat.objects.filter(source=source).exists(),
            timeout=60,
            message="the worker never ran the task:\n" + worker.output(),
        )
        time.sleep(0.5)  # a connection closed after the task has left the view by then
        after.append(set(_worker_backends()) - before)
    # One connection, opened by the first task, still open after the last.
    assert after[0], "the worker closed its connection after the task"
    assert after[0] == after[1] == after[2]


def test_a_worker_replaces_a_connection_the_database_dropped(worker_factory):
    """A kept connection that PostgreSQL closed meanwhile (a restart, an idle timeout) is
    noticed before the next task uses it (CONN_HEALTH_CHECKS), and that task still runs."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's view of its connections")
    worker = worker_factory(concurrency=1)
    before = set(_worker_backends())
    record_heartbeat.delay("dropped-1")
    wait_until(lambda: WorkerHeartbeat.objects.filter(source="dropped-1").exists(), timeout=60)
    time.sleep(0.5)
    kept = set(_worker_backends()) - before
    with connection.cursor() as cursor:
        for pid in kept:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    record_heartbeat.delay("dropped-2")
    wait_until(
        lambda: WorkerHeartbeat.objects.filter(source="dropped-2").exists(),
        timeout=60,
        message="the task after the dropped connection never ran:\n" + worker.output(),
    )
    assert "Traceback" not in worker.all_output()
