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


@shared_task(name=EMAIL_TASK, **dispatch.lease_limits(EMAIL_LEASE))
def deliver_booking_emails(email_id: int) -> str:
    """Send one booking event's emails; a mail server problem is retried for about five hours."""
    outcome = booking_emails_deliver(email_id=email_id)
    return dispatch.run_and_requeue(EMAIL_TASK, email_id, outcome)


@shared_task(name=REMINDERS_DISPATCH_TASK, ignore_result=True)
def dispatch_invitee_reminders() -> int:
    """Beat's ``invitee-reminders``: queue every due invitee reminder; how many."""
    return len(reminders_dispatch())


@shared_task(name=REMINDER_TASK, **dispatch.lease_limits(REMINDER_LEASE))
def send_invitee_reminder(reminder_id: int) -> str:
    """Send one invitee reminder, once; a refused send is tried again before the start."""
    outcome = reminder_send(reminder_id=reminder_id)
    return dispatch.run_and_requeue(REMINDER_TASK, reminder_id, outcome)
