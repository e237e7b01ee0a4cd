"""The 90 days: keep-alive, warnings 14/3/1 days ahead, expiry, and the beat tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from calendars import tasks
from calendars.models import ConnectionStatus, DisconnectReason
from calendars.services.expiry import check_expiry, connection_keep_alive
from tests.support.interleave import selects_from, write_after_query

pytestmark = pytest.mark.django_db


def age(connection, days: int) -> None:
    """Pretend the sign-in's refresh token was issued ``days`` ago."""
    issued = timezone.now() - timedelta(days=days)
    connection.refresh_issued_at = issued
    connection.refresh_expires_at = issued + timedelta(days=90)
    connection.save()


def test_beat_runs_the_keepalive_daily_and_the_expiry_check_hourly():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["calendar-keepalive"]["task"] == "calendars.tasks.keep_connections_alive"
    assert schedule["calendar-keepalive"]["schedule"] == 24 * 3600
    assert schedule["calendar-expiry"]["task"] == "calendars.tasks.check_connection_expiry"
    assert schedule["calendar-expiry"]["schedule"] == 3600


def test_keepalive_refreshes_old_sign_ins_and_slides_the_expiry(connected, fake_microsoft):
    age(connected, 31)
    old_expiry = connected.refresh_expires_at

    assert tasks.keep_connection_alive.apply(args=[connected.pk]).get() is True

    connected.refresh_from_db()
    assert connected.refresh_expires_at - old_expiry > timedelta(days=30)
    assert len(fake_microsoft.refresh_requests()) == 1
    # Running it again finds nothing due: no second refresh.
    assert tasks.keep_connection_alive.apply(args=[connected.pk]).get() is False
    assert len(fake_microsoft.refresh_requests()) == 1


def test_keepalive_leaves_young_sign_ins_alone(connected, fake_microsoft):
    age(connected, 29)
    assert connection_keep_alive(connection=connected) is False
    assert fake_microsoft.refresh_requests() == []


def test_keepalive_in_fixed_reconnect_mode_does_not_extend_the_expiry(
    connected, fake_microsoft, settings
):
    settings.CALENDAR_FIXED_RECONNECT = True
    age(connected, 31)
    expiry = connected.refresh_expires_at
    assert connection_keep_alive(connection=connected) is True
    connected.refresh_from_db()
    assert connected.refresh_expires_at == expiry


def test_warnings_go_out_once_per_threshold(connected):
    expires = connected.refresh_expires_at
    mail.outbox.clear()
    sent = []
    for days_before in (20, 14, 13, 3, 3, 1, 0.5):
        check_expiry(now=expires - timedelta(days=days_before))
        sent.append(len(mail.outbox))
    assert sent == [0, 1, 1, 2, 2, 3, 3]
    assert "expires in 14 days" in mail.outbox[0].subject
    assert "expires in 3 days" in mail.outbox[1].subject
    assert "expires in 1 day" in mail.outbox[2].subject
    assert "http://127.0.0.1:8000/setup/integration/calendar/" in mail.outbox[0].body
    assert (
        'href="http://127.0.0.1:8000/setup/integration/calendar/"'
        in (mail.outbox[0].alternatives[0][0])
    )


def test_a_late_first_check_sends_only_the_most_urgent_warning(connected):
    mail.outbox.clear()
    check_expiry(now=connected.refresh_expires_at - timedelta(hours=20))
    assert [m.subject for m in mail.outbox] == [
        "Your Office 365 calendar connection expires in 1 day"
    ]


def test_expiry_disconnects_and_emails_the_host_once(connected, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    after = connected.refresh_expires_at + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert check_expiry(now=after) == ([connected.pk], [])
        assert check_expiry(now=after) == ([], [])
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.DISCONNECTED
    assert connected.disconnect_reason == DisconnectReason.EXPIRED
    assert connected.token_cache == ""
    assert [m.subject for m in mail.outbox] == ["Your Office 365 calendar was disconnected"]
    assert "the sign-in expired" in mail.outbox[0].body


def test_a_host_who_reconnects_while_the_expiry_check_runs_stays_connected(
    connected, host, fake_microsoft, django_capture_on_commit_callbacks
):
    age(connected, 91)  # the sign-in expired yesterday
    mail.outbox.clear()

    def host_reconnects():
        fake_microsoft.connect(host, reconnect=True)

    # The check has listed the expired connections; the host reconnects before it acts.
    due = selects_from("calendars_calendarconnection", '"refresh_expires_at" <=')
    with (
        django_capture_on_commit_callbacks(execute=True),
        write_after_query(due, host_reconnects) as interleaved,
    ):
        expired, _ = check_expiry()

    assert interleaved
    assert expired == []
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED
    assert connected.refresh_expires_at > timezone.now() + timedelta(days=89)
    assert mail.outbox == []


def test_the_fan_out_task_queues_only_due_connections(connected, teammate, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.keep_connection_alive, "delay", queued.append)
    age(connected, 10)
    assert tasks.keep_connections_alive() == 0
    age(connected, 45)
    assert tasks.keep_connections_alive() == 1
    assert queued == [connected.pk]
