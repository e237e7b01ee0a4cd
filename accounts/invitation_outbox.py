"""Invitation emails through the shared outbox: one row per (re)sent invitation.

``invitation_create`` and ``invitation_resend`` write an ``InvitationEmail`` row in
their own transaction and its task is queued once that commits, off the request's
thread (``outbox.dispatch``). A broker that is down leaves the row pending and the
outbox sweeper queues it later; a mail server that refuses or cannot be reached is
tried again on the booking emails' schedule (about five hours), then the row is
marked failed (the admin can resend it from Team; Team does not show the row's state).

The email is written when it goes, in the language the admin used, with the
invitation's current link. A row whose invitation was accepted, withdrawn or resent
meanwhile is dropped unsent (the resend has its own row). Never called inside a web
request; idempotent.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Invitation, InvitationEmail, InvitationEmailState, InvitationState
from outbox import dispatch
from outbox.claims import LostClaim, claim_take
from outbox.mail import mail_failure_record
from outbox.outcomes import Outcome, Status
from outbox.sweeper import items_requeue

logger = logging.getLogger(__name__)

INVITATION_EMAIL_TASK = "accounts.tasks.send_invitation_email"
# Seconds a worker may hold one row (one email, bounded by EMAIL_TIMEOUT).
INVITATION_EMAIL_LEASE = 60
# As booking emails (booking.emails.EMAIL_RETRY_DELAYS): about five hours in all, and
# each wait shorter than the broker's redelivery timeout.
INVITATION_RETRY_DELAYS = (30, 120, 600, 1800) + (2700,) * 6


def invitation_email_add(*, invitation: Invitation) -> InvitationEmail:
    """Write the row of the invitation's email (in the caller's transaction); queued on
    commit."""
    email = InvitationEmail.objects.create(
        invitation=invitation,
        nonce=invitation.nonce,
        language=translation.get_language() or "",
        queued_at=timezone.now(),
    )
    dispatch.task_send_on_commit(INVITATION_EMAIL_TASK, args_list=[[email.pk]])
    return email


def _message(invitation: Invitation) -> tuple[str, str]:
    from accounts.services import INVITATION_DAYS, invitation_link

    context = {
        "organization": invitation.organization.name,
        "inviter": invitation.invited_by.get_full_name() if invitation.invited_by else "",
        "link": invitation_link(invitation),
        "days": INVITATION_DAYS,
    }
    # One line whatever the name holds (one stored before names were kept to one line):
    # a subject with a line break is never sent.
    subject = " ".join((_("Join %(organization)s on ScheduleOnce") % context).split())
    return subject, render_to_string("accounts/email/invitation.txt", context)


def invitation_email_send(*, email_id: int, now: datetime | None = None) -> Outcome:
    """Send the row's email if it still owes it."""
    claim = claim_take(
        items=InvitationEmail.objects.select_related(
            "invitation__organization", "invitation__invited_by"
        ),
        pk=email_id,
        lease_seconds=INVITATION_EMAIL_LEASE,
        now=now,
    )
    if claim is None:
        return Outcome(Status.SKIPPED)
    email: InvitationEmail = claim.item
    invitation = email.invitation
    if invitation.state != InvitationState.PENDING or invitation.nonce != email.nonce:
        claim.settle(state=InvitationEmailState.DROPPED, next_attempt_at=None)
        logger.info("%s: dropped (the invitation ended or was resent)", _describe(email))
        return Outcome(Status.SKIPPED)
    try:
        with translation.override(email.language or settings.LANGUAGE_CODE):
            subject, body = _message(invitation)
        send_mail(subject, body, None, [invitation.email])
    except (smtplib.SMTPException, OSError) as error:
        return mail_failure_record(
            claim,
            error,
            delays=INVITATION_RETRY_DELAYS,
            failed_state=InvitationEmailState.FAILED,
            described=_describe(email),
        )
    try:
        claim.settle(
            state=InvitationEmailState.SENT,
            sent_at=timezone.now(),
            next_attempt_at=None,
            last_error="",
        )
    except LostClaim:  # pragma: no cover - settle returns False rather than raising
        return Outcome(Status.LOST)
    logger.info("%s: sent (attempt %s)", _describe(email), email.attempts)
    return Outcome(Status.SYNCED)


def _describe(email: InvitationEmail) -> str:
    # Never the address nor the link: the row and invitation ids are enough to look up.
    return f"invitation_emails row={email.pk} invitation={email.invitation_id}"


def invitation_emails_sweep(now: datetime) -> list[int]:
    """Re-queue invitation email rows whose task was lost (registered with the sweeper)."""
    ids = items_requeue(
        items=InvitationEmail.objects.all(),
        task=INVITATION_EMAIL_TASK,
        now=now,
        requeue_after=settings.OUTBOX_REQUEUE_AFTER,
    )
    if ids:
        logger.info("sweep invitation emails: re-queued %d row(s): %s", len(ids), ids[:20])
    return ids
