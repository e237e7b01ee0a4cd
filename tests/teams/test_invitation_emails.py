"""Invitation emails go through the outbox: a mail server or broker that is down delays
the invitation, never loses it; a resent or ended invitation's older email is dropped."""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts import invitation_outbox
from accounts.invitation_outbox import (
    INVITATION_RETRY_DELAYS,
    invitation_email_send,
    invitation_emails_sweep,
)
from accounts.models import InvitationEmail, InvitationEmailState
from accounts.services import invitation_create, invitation_resend, invitation_revoke

pytestmark = pytest.mark.django_db

MEGAN = "megan@contoso.example"


def _path(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/invitations/\S+/)", message.body).group(1)


@pytest.fixture
def smtp_down(monkeypatch):
    real = invitation_outbox.send_mail

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection closed")

    monkeypatch.setattr(invitation_outbox, "send_mail", refuse)
    return lambda: monkeypatch.setattr(invitation_outbox, "send_mail", real)


def _invite(org, host, capture):
    organization, _ = org
    with capture(execute=True):
        return invitation_create(
            organization=organization, email=MEGAN, role="member", invited_by=host
        )


def test_a_mail_server_outage_delays_the_invitation_but_does_not_lose_it(
    client, org, host, smtp_down, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.INFO)
    invitation = _invite(org, host, django_capture_on_commit_callbacks)
    (row,) = InvitationEmail.objects.all()
    assert row.state == InvitationEmailState.PENDING
    assert row.attempts == 1
    assert "SMTPServerDisconnected" in row.last_error
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert mail.outbox == []
    # Not due yet: a task arriving early does nothing.
    assert invitation_email_send(email_id=row.pk).status == "skipped"

    smtp_down()  # the mail server is back
    later = timezone.now() + timedelta(seconds=INVITATION_RETRY_DELAYS[0] + 1)
    assert invitation_email_send(email_id=row.pk, now=later).status == "synced"
    row.refresh_from_db()
    assert row.state == InvitationEmailState.SENT
    assert row.sent_at is not None
    (message,) = mail.outbox
    assert message.to == [MEGAN]
    page = client.get(_path(message))
    assert page.status_code == 200
    assert "Join Contoso" in page.content.decode()
    # Once sent, never again.
    again = invitation_email_send(email_id=row.pk, now=later + timedelta(hours=1))
    assert again.status == "skipped"
    assert len(mail.outbox) == 1
    # The logs name rows, never the address or the link.
    assert MEGAN not in caplog.text
    assert invitation.nonce not in caplog.text
    assert _path(message) not in caplog.text


def test_after_about_five_hours_of_refusals_the_email_is_marked_failed(
    org, host, smtp_down, django_capture_on_commit_callbacks
):
    _invite(org, host, django_capture_on_commit_callbacks)
    (row,) = InvitationEmail.objects.all()
    now = timezone.now()
    for delay in INVITATION_RETRY_DELAYS:
        now += timedelta(seconds=delay + 1)
        invitation_email_send(email_id=row.pk, now=now)
    row.refresh_from_db()
    assert row.state == InvitationEmailState.FAILED
    assert row.attempts == len(INVITATION_RETRY_DELAYS) + 1
    assert mail.outbox == []


@pytest.mark.redis
def test_a_broker_that_is_down_leaves_the_row_for_the_sweeper(
    client, org, host, broker_unreachable, monkeypatch, django_capture_on_commit_callbacks
):
    from outbox import dispatch
    from scheduleonce.celery import app

    monkeypatch.setattr(dispatch, "PUBLISH_IN_BACKGROUND", False)
    _invite(org, host, django_capture_on_commit_callbacks)  # the task could not be queued
    (row,) = InvitationEmail.objects.all()
    assert row.state == InvitationEmailState.PENDING
    assert row.attempts == 0
    assert mail.outbox == []
    # The broker is back (tasks run here, as a worker would run them): the sweeper
    # queues the row nobody queued, and the email goes.
    from django.conf import settings

    later = timezone.now() + timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER + 1)
    app.conf.task_always_eager = True
    try:
        assert invitation_emails_sweep(later) == [row.pk]
    finally:
        app.conf.task_always_eager = False
    row.refresh_from_db()
    assert row.state == InvitationEmailState.SENT
    (message,) = mail.outbox
    assert client.get(_path(message)).status_code == 200


def test_a_resend_drops_the_older_email_and_sends_the_new_link(
    client, org, host, smtp_down, django_capture_on_commit_callbacks
):
    invitation = _invite(org, host, django_capture_on_commit_callbacks)
    smtp_down()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(invitation=invitation)
    first, second = InvitationEmail.objects.order_by("pk")
    assert second.state == InvitationEmailState.SENT
    later = timezone.now() + timedelta(hours=1)
    assert invitation_email_send(email_id=first.pk, now=later).status == "skipped"
    first.refresh_from_db()
    assert first.state == InvitationEmailState.DROPPED
    (message,) = mail.outbox
    assert client.get(_path(message)).status_code == 200


def test_a_withdrawn_invitation_is_not_emailed_late(
    org, host, smtp_down, django_capture_on_commit_callbacks
):
    invitation = _invite(org, host, django_capture_on_commit_callbacks)
    smtp_down()
    invitation_revoke(invitation=invitation)
    (row,) = InvitationEmail.objects.all()
    invitation_email_send(email_id=row.pk, now=timezone.now() + timedelta(hours=1))
    row.refresh_from_db()
    assert row.state == InvitationEmailState.DROPPED
    assert mail.outbox == []


def test_the_invitation_request_itself_never_sends(client, org, host, monkeypatch):
    """The admin's request only writes the row; the send happens after commit."""
    sent = []
    monkeypatch.setattr(invitation_outbox, "send_mail", lambda *a, **k: sent.append(a))
    organization, _ = org
    invitation_create(organization=organization, email=MEGAN, role="member", invited_by=host)
    # pytest-django's transaction never commits here: no on-commit, so nothing went out.
    assert sent == []
    assert InvitationEmail.objects.filter(state=InvitationEmailState.PENDING).count() == 1
