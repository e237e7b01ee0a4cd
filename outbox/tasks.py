"""Celery task of the outbox: beat's ``outbox-sweep`` (settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from outbox.sweeper import sweeps_run

SWEEP_TASK = "outbox.tasks.sweep_outboxes"


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_outboxes() -> dict[str, int]:
    """Re-queue every outbox's lost items; how many, per outbox."""
    return sweeps_run()
