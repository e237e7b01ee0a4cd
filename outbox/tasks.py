"""Celery tasks of the outbox: beat's ``outbox-sweep`` (settings.CELERY_BEAT_SCHEDULE),
and the bundle of a transaction's outbox tasks (``outbox.dispatch``)."""

from __future__ import annotations

from celery import shared_task

from outbox import dispatch
from outbox.sweeper import sweeps_run

SWEEP_TASK = "outbox.tasks.sweep_outboxes"


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_outboxes() -> dict[str, int]:
    """Re-queue every outbox's lost items; how many, per outbox."""
    return sweeps_run()


@shared_task(
    bind=True, name=dispatch.BUNDLE_TASK, acks_late=True, reject_on_worker_lost=True,
    ignore_result=True,
)  # fmt: skip
def run_bundle(self, items: list[list]) -> int:
    """Run the outbox tasks one transaction asked for, each as its own task would; its
    time limits (the smallest of its items') come with the message."""
    hard, _soft = self.request.timelimit or (None, None)
    return dispatch.bundle_run(items, time_limit=hard, request=self.request)
