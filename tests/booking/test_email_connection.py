"""A row's emails go to the mail server over one SMTP connection, not one each."""

from __future__ import annotations

import pytest

from bench._smtp_sink import SmtpSink
from booking.email_outbox import booking_emails_deliver
from booking.models import BookingEmail, EmailState
from booking.services.bookings import Invitee, booking_create
from graph_sandbox.tls import ensure_tls_files
from outbox.outcomes import Status
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db
DANA = Invitee("Dana Invitee", "dana@example.com", "Asia/Kolkata")


@pytest.fixture
def mail_server(settings, tmp_path):
    """A real SMTP server on this machine that takes every message (no TLS here)."""
    files = ensure_tls_files(tmp_path)
    sink = SmtpSink(certificate=files.server_cert, key=files.server_key)
    settings.EMAIL_BACKEND = "ops.mail.SMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.shutdown()
    sink.server_close()


def test_the_invitee_and_the_host_email_share_one_connection(page, mail_server):
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    email = BookingEmail.objects.get()
    assert booking_emails_deliver(email_id=email.pk).status == Status.SYNCED
    assert (mail_server.sessions, mail_server.messages) == (1, 2)
    email.refresh_from_db()
    assert email.state == EmailState.SENT
    assert email.invitee_sent_at is not None
    assert email.host_sent_at is not None


def test_a_mail_server_that_cannot_be_reached_is_tried_again(page, settings, mail_server):
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    email = BookingEmail.objects.get()
    mail_server.shutdown()
    mail_server.server_close()  # nothing listens on the port any more
    outcome = booking_emails_deliver(email_id=email.pk)
    assert (outcome.status, outcome.retry_in) == (Status.RETRY, 30)
    email.refresh_from_db()
    assert (email.invitee_sent_at, email.host_sent_at) == (None, None)
    assert "ConnectionRefusedError" in email.last_error


def _two_bookings(page) -> list[int]:
    for hour in (10, 11):
        booking_create(page=page, start=at(workday("Europe/London"), hour), invitee=DANA)
    return list(BookingEmail.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_email_rows_of_one_bundle_share_one_connection(page, mail_server):
    """A bundle's email rows (a booking's confirmations, then its join-link email after
    the push) go over one connection, closed when the bundle ends."""
    from booking.email_outbox import EMAIL_TASK
    from outbox import dispatch

    first, second = _two_bookings(page)
    ran = dispatch.bundle_run([[EMAIL_TASK, [first]], [EMAIL_TASK, [second]]], time_limit=90)
    assert ran == 2
    assert (mail_server.sessions, mail_server.messages) == (1, 4)
    assert set(BookingEmail.objects.values_list("state", flat=True)) == {EmailState.SENT}


def test_a_kept_connection_the_server_dropped_is_replaced_before_anything_is_sent(
    page, mail_server
):
    """The server closed it meanwhile (a restart, its idle timeout while the push ran): the
    next row sees that before sending (NOOP), opens a new one, and sends each email once."""
    from ops.mail import connections_kept

    first, second = _two_bookings(page)
    with connections_kept():
        assert booking_emails_deliver(email_id=first).status == Status.SYNCED
        mail_server.drop_sessions()
        assert booking_emails_deliver(email_id=second).status == Status.SYNCED
    assert (mail_server.sessions, mail_server.messages) == (2, 4)
    assert set(BookingEmail.objects.values_list("state", flat=True)) == {EmailState.SENT}
