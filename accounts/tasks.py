"""Celery tasks of accounts: thin wrappers that take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from accounts.invitation_outbox import (
    INVITATION_EMAIL_LEASE,
    INVITATION_EMAIL_TASK,
    invitation_email_send,
)
from outbox import dispatch


@shared_task(
    name=INVITATION_EMAIL_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=INVITATION_EMAIL_LEASE // 2,
    time_limit=INVITATION_EMAIL_LEASE * 3 // 4,
)
def send_invitation_email(email_id: int) -> str:
    """Send one invitation's email; a mail server problem is retried for about five hours."""
    outcome = invitation_email_send(email_id=email_id)
    if outcome.retry_in is not None:
        dispatch.task_send(INVITATION_EMAIL_TASK, args=[email_id], countdown=outcome.retry_in)
    return outcome.status
