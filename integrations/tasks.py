"""Celery task of integrations: a thin wrapper that takes an id and calls the service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from integrations import token_expiry
from integrations.webhooks import MAX_COUNTDOWN, WEBHOOK_TASK, delivery_deliver
from outbox import dispatch


@shared_task(
    name=WEBHOOK_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # Stopped before its lease ends, so a hung post never overlaps the worker taking over.
    soft_time_limit=settings.WEBHOOK_LEASE * 3 // 4,
    time_limit=settings.WEBHOOK_LEASE * 7 // 8,
)
def deliver_webhook(delivery_id: int) -> str:
    """Post one webhook delivery; retries are queued with a countdown (or by the sweeper)."""
    outcome = delivery_deliver(delivery_id=delivery_id)
    return dispatch.run_and_requeue(WEBHOOK_TASK, delivery_id, outcome, max_countdown=MAX_COUNTDOWN)


@shared_task(name="integrations.tasks.warn_expiring_tokens", ignore_result=True)
def warn_expiring_tokens() -> list[int]:
    """Email the owners of API tokens that expire within API_TOKEN_EXPIRY_WARNING_DAYS."""
    return token_expiry.warn_expiring_tokens()
