"""Celery tasks of booking: thin wrappers that take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from booking.email_outbox import EMAIL_LEASE, EMAIL_TASK, booking_emails_deliver
from booking.emails import EMAIL_RETRY_DELAYS
from booking.reminders import REMINDER_LEASE, REMINDER_TASK, reminder_send, reminders_dispatch
from outbox import dispatch

__all__ = [
    "EMAIL_RETRY_DELAYS",
    "deliver_booking_emails",
    "dispatch_invitee_reminders",
    "send_invitee_reminder",
]
REMINDERS_DISPATCH_TASK = "booking.tasks.dispatch_invitee_reminders"


@shared_task(
    name=EMAIL_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # Stopped before its lease ends, so a hung send never overlaps the worker taking over.
    soft_time_limit=EMAIL_LEASE // 2,
    time_limit=EMAIL_LEASE * 3 // 4,
)
def deliver_booking_emails(email_id: int) -> str:
    """Send one booking event's emails; a mail server problem is retried for about five hours."""
    outcome = booking_emails_deliver(email_id=email_id)
    if outcome.retry_in is not None:
        dispatch.task_send(EMAIL_TASK, args=[email_id], countdown=outcome.retry_in)
    return outcome.status


@shared_task(name=REMINDERS_DISPATCH_TASK, ignore_result=True)
def dispatch_invitee_reminders() -> int:
    """Beat's ``invitee-reminders``: queue every due invitee reminder; how many."""
    return len(reminders_dispatch())


@shared_task(
    name=REMINDER_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=REMINDER_LEASE // 2,
    time_limit=REMINDER_LEASE * 3 // 4,
)
def send_invitee_reminder(reminder_id: int) -> str:
    """Send one invitee reminder, once; a refused send is tried again before the start."""
    outcome = reminder_send(reminder_id=reminder_id)
    if outcome.retry_in is not None:
        dispatch.task_send(REMINDER_TASK, args=[reminder_id], countdown=outcome.retry_in)
    return outcome.status
