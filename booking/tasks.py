"""Celery tasks of booking: thin wrappers that take ids and call a service."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task

from booking.emails import RECIPIENTS, send_booking_email

logger = logging.getLogger(__name__)

# Seconds before each retry of an email the mail server refused or could not take (about
# five hours in all). Each stays well below Redis's visibility timeout
# (settings.REDIS_VISIBILITY_TIMEOUT): a retry waiting longer is delivered twice.
EMAIL_RETRY_DELAYS = (30, 120, 600, 1800) + (2700,) * 6


@shared_task(
    name="booking.tasks.send_booking_email",
    bind=True,
    max_retries=len(EMAIL_RETRY_DELAYS),
    ignore_result=True,
)
def send_booking_email_task(self, booking_pk: int, kind: str, who: str) -> None:
    """Send one booking email; a mail server problem is retried for about five hours."""
    try:
        sent = send_booking_email(booking_pk=booking_pk, kind=kind, who=who)
    except (smtplib.SMTPException, OSError) as error:
        attempt = self.request.retries
        logger.warning(
            "send_booking_email booking=%s kind=%s to=%s failed (%s), attempt %s",
            booking_pk,
            kind,
            who,
            type(error).__name__,
            attempt + 1,
        )
        if attempt >= len(EMAIL_RETRY_DELAYS):
            logger.error(
                "send_booking_email booking=%s kind=%s to=%s gave up", booking_pk, kind, who
            )
            return
        raise self.retry(countdown=EMAIL_RETRY_DELAYS[attempt]) from None
    if not sent:
        logger.info("send_booking_email booking=%s: the booking no longer exists", booking_pk)


def booking_emails_queue(*, booking_pk: int, kind: str) -> None:
    """Queue the invitee's and the host's email; call it once the booking has committed.

    The booking is already stored, so a broker that cannot be reached must not turn
    the invitee's answer into an error: the email is then sent right here instead
    (a mail server problem is logged; there is no worker to try again later).
    """
    for who in RECIPIENTS:
        try:
            send_booking_email_task.delay(booking_pk, kind, who)
        except Exception as error:  # kombu's OperationalError and friends: no broker
            logger.warning(
                "send_booking_email booking=%s kind=%s to=%s: could not queue (%s); sending now",
                booking_pk,
                kind,
                who,
                type(error).__name__,
            )
            _send_now(booking_pk=booking_pk, kind=kind, who=who)


def _send_now(*, booking_pk: int, kind: str, who: str) -> None:
    try:
        send_booking_email(booking_pk=booking_pk, kind=kind, who=who)
    except (smtplib.SMTPException, OSError) as error:
        logger.error(
            "send_booking_email booking=%s kind=%s to=%s failed without a broker (%s)",
            booking_pk,
            kind,
            who,
            type(error).__name__,
        )
