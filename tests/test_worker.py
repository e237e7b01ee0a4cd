"""A real Celery worker consumes tasks from the configured broker and writes to the database."""

from __future__ import annotations

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
