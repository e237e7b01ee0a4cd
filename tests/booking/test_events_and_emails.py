"""Booking events leave from one place; emails are an outbox row per event."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError
from django.utils import timezone

from booking import email_outbox
from booking.email_outbox import booking_emails_deliver
from booking.events import Actor, booking_event_committed, booking_event_recorded
from booking.models import Booking, BookingEmail, EmailState
from booking.services.bookings import Invitee, booking_cancel, booking_create, booking_reschedule
from outbox.claims import LostClaim, claim_take
from outbox.outcomes import Status
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db
DANA = Invitee("Dana Invitee", "dana@example.com", "Asia/Kolkata")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """The events receivers of ``booking_event_committed`` get, in order."""
    events = []

    def receive(sender, *, event, **kwargs):
        events.append(event)

    booking_event_committed.connect(receive, dispatch_uid="test-committed")
    yield events
    booking_event_committed.disconnect(dispatch_uid="test-committed")


def test_every_change_is_one_event_with_its_actor_and_version_and_one_email_row(
    page, committed, django_capture_on_commit_callbacks
):
    day = workday("Europe/London")
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_create(page=page, start=at(day, 10), invitee=DANA)
    with django_capture_on_commit_callbacks(execute=True):
        booking = booking_reschedule(booking=booking, start=at(day, 11))
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(booking=booking, actor=Actor.HOST, reason="Ill")

    assert [(e.kind, e.actor, e.version) for e in committed] == [
        ("confirmed", "invitee", 0),
        ("rescheduled", "invitee", 1),
        ("cancelled", "host", 2),
    ]
    assert {e.booking_uuid for e in committed} == {booking.uuid}
    rows = BookingEmail.objects.order_by("pk")
    assert [(r.kind, r.actor, r.booking_version, r.state) for r in rows] == [
        ("confirmed", "invitee", 0, "pending"),
        ("rescheduled", "invitee", 1, "pending"),
        ("cancelled", "host", 2, "pending"),
    ]


def test_a_receiver_that_fails_inside_the_transaction_undoes_the_booking(page, committed):
    def refuse(sender, *, event, **kwargs):
        raise IntegrityError("the webhook table is full")

    booking_event_recorded.connect(refuse, dispatch_uid="test-refuse")
    try:
        with pytest.raises(IntegrityError):
            booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    finally:
        booking_event_recorded.disconnect(dispatch_uid="test-refuse")
    assert not Booking.objects.exists()
    assert not BookingEmail.objects.exists()
    assert committed == []


def test_a_receiver_that_fails_after_commit_never_reaches_the_invitee(
    page, django_capture_on_commit_callbacks, caplog
):
    def broken_metrics(sender, *, event, **kwargs):
        raise RuntimeError("the metrics server is down")

    booking_event_committed.connect(broken_metrics, dispatch_uid="test-broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    finally:
        booking_event_committed.disconnect(dispatch_uid="test-broken")
    assert Booking.objects.count() == 1
    assert "receiver" in caplog.text
    assert "RuntimeError" in caplog.text


def _due(email: BookingEmail) -> None:
    BookingEmail.objects.filter(pk=email.pk).update(next_attempt_at=None)


def test_a_retry_sends_only_the_email_still_owed(page, monkeypatch):
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    email = BookingEmail.objects.get()
    real_send = email_outbox.send_booking_email
    refusals = ["host"]

    def flaky_send(*, booking_pk, kind, who, **more):
        if who in refusals:
            refusals.remove(who)
            raise smtplib.SMTPServerDisconnected("the mail server went away")
        return real_send(booking_pk=booking_pk, kind=kind, who=who, **more)

    monkeypatch.setattr(email_outbox, "send_booking_email", flaky_send)

    first = booking_emails_deliver(email_id=email.pk)
    assert (first.status, first.retry_in) == (Status.RETRY, 30)
    assert [m.to for m in mail.outbox] == [["dana@example.com"]]
    email.refresh_from_db()
    assert email.invitee_sent_at is not None
    assert (email.host_sent_at, email.state) == (None, EmailState.PENDING)
    assert "mail server" in email.last_error

    assert booking_emails_deliver(email_id=email.pk).status == Status.SKIPPED  # not due yet
    _due(email)
    assert booking_emails_deliver(email_id=email.pk).status == Status.SYNCED
    assert [m.to for m in mail.outbox] == [["dana@example.com"], ["alice@example.com"]]
    assert BookingEmail.objects.get().state == EmailState.SENT
    assert booking_emails_deliver(email_id=email.pk).status == Status.SKIPPED  # sent: done


def test_a_mail_server_that_never_comes_back_is_given_up_on(page, monkeypatch):
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    email = BookingEmail.objects.get()

    def down(**kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(email_outbox, "send_booking_email", down)
    outcomes = []
    for _ in range(11):
        _due(email)
        outcomes.append(booking_emails_deliver(email_id=email.pk).status)
    assert outcomes == [Status.RETRY] * 10 + [Status.FAILED]
    assert BookingEmail.objects.get().state == EmailState.FAILED


def test_an_attempt_whose_lease_ran_out_can_no_longer_write(page):
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    email = BookingEmail.objects.get()
    items = BookingEmail.objects.all()
    long_ago = timezone.now() - timedelta(minutes=10)

    stale = claim_take(items=items, pk=email.pk, lease_seconds=60, now=long_ago)
    assert claim_take(items=items, pk=email.pk, lease_seconds=60) is not None  # taken over
    with pytest.raises(LostClaim):
        stale.save(invitee_sent_at=timezone.now())
    assert not stale.settle(state=EmailState.SENT)
    email.refresh_from_db()
    assert (email.state, email.invitee_sent_at, email.attempts) == (EmailState.PENDING, None, 2)


def test_a_claim_lost_while_the_last_email_went_records_nothing_of_it(page, monkeypatch):
    """The last email's record and the row's end are one write, conditional on the claim
    as every record is: if another worker took the row over meanwhile, neither happens."""
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    email = BookingEmail.objects.get()
    real_send = email_outbox.send_booking_email

    def send_then_lose_the_claim(*, who, **more):
        sent = real_send(who=who, **more)
        if who == "host":  # the lease ran out meanwhile: another worker holds the row now
            BookingEmail.objects.filter(pk=email.pk).update(claimed_by="another-worker")
        return sent

    monkeypatch.setattr(email_outbox, "send_booking_email", send_then_lose_the_claim)
    assert booking_emails_deliver(email_id=email.pk).status == Status.LOST
    email.refresh_from_db()
    assert email.invitee_sent_at is not None  # recorded while the claim was held
    assert (email.host_sent_at, email.state) == (None, EmailState.PENDING)
    assert email.claimed_by == "another-worker"  # left to the worker that took it over


def test_a_claim_settles_on_an_unchanged_null_as_on_an_unchanged_value(page):
    # unchanged={"field": None} means "still null" (as the ORM's filter(field=None) read
    # it): a write that compares with "= NULL" matches no row and loses the claim.
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    email = BookingEmail.objects.get()
    items = BookingEmail.objects.all()

    claim = claim_take(items=items, pk=email.pk, lease_seconds=60)
    assert claim.settle(state=EmailState.SENT, unchanged={"invitee_sent_at": None})
    email.refresh_from_db()
    assert email.state == EmailState.SENT

    BookingEmail.objects.filter(pk=email.pk).update(state=EmailState.PENDING)
    claim = claim_take(items=items, pk=email.pk, lease_seconds=60)
    BookingEmail.objects.filter(pk=email.pk).update(invitee_sent_at=timezone.now())
    assert not claim.settle(state=EmailState.FAILED, unchanged={"invitee_sent_at": None})
    email.refresh_from_db()
    assert email.state == EmailState.PENDING  # changed meanwhile: let go, not settled
