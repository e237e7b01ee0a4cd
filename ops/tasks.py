from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from ops.models import WorkerHeartbeat


@shared_task(name="ops.tasks.record_heartbeat", ignore_result=True)
def record_heartbeat(source: str) -> None:
    """Record that a worker is consuming tasks sent by ``source`` (beat, a test, an operator)."""
    hostname = record_heartbeat.request.hostname or ""
    WorkerHeartbeat.objects.update_or_create(
        source=source[:100], defaults={"seen_at": timezone.now(), "hostname": hostname[:255]}
    )
