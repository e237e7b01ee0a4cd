"""Celery tasks of accounts: thin wrappers that take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from accounts.invitation_outbox import (
    INVITATION_EMAIL_LEASE,
    INVITATION_EMAIL_TASK,
    invitation_email_send,
)
from outbox import dispatch


@shared_task(name=INVITATION_EMAIL_TASK, **dispatch.lease_limits(INVITATION_EMAIL_LEASE))
def send_invitation_email(email_id: int) -> str:
    """Send one invitation's email; a mail server problem is retried for about five hours."""
    outcome = invitation_email_send(email_id=email_id)
    return dispatch.run_and_requeue(INVITATION_EMAIL_TASK, email_id, outcome)
