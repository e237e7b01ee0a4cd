"""``manage.py calendar_status`` for an operator watching sync health (no Microsoft needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from calendars.models import (
    Calendar,
    CalendarConnection,
    ConnectionStatus,
    DisconnectReason,
    PushedEvent,
    PushState,
)

pytestmark = pytest.mark.django_db


def status_line(capsys) -> str:
    call_command("calendar_status")
    [line] = capsys.readouterr().out.strip().splitlines()
    return line


def test_one_failing_busy_calendar_is_not_hidden_by_another_that_syncs(connected, capsys):
    now = timezone.now()
    healthy, failing = connected.calendars.order_by("pk")[:2]
    healthy_at = now - timedelta(minutes=2)
    failing_at = now - timedelta(days=2)
    Calendar.objects.filter(pk=healthy.pk).update(busy_horizon_days=30, last_synced_at=healthy_at)
    Calendar.objects.filter(pk=failing.pk).update(
        busy_horizon_days=30,
        last_synced_at=failing_at,
        last_sync_error="Office 365 no longer lets us write to (or read) this calendar",
    )

    line = status_line(capsys)

    assert f"last_sync={failing_at:%Y-%m-%dT%H:%M}Z (2 days ago) sync_errors=1 " in line


def test_a_busy_calendar_never_synced_shows_never(connected, capsys):
    healthy, fresh = connected.calendars.order_by("pk")[:2]
    Calendar.objects.filter(pk=healthy.pk).update(
        busy_horizon_days=30, last_synced_at=timezone.now()
    )
    Calendar.objects.filter(pk=fresh.pk).update(busy_horizon_days=30)

    assert " last_sync=never sync_errors=0 " in status_line(capsys)


def test_calendars_no_page_reads_do_not_count_as_synced(connected, capsys):
    # Read for busy time once, then no page used it any more: its old sync says nothing.
    Calendar.objects.filter(connection=connected).update(
        busy_horizon_days=0, last_synced_at=timezone.now()
    )

    assert " last_sync=unused sync_errors=0 " in status_line(capsys)


def test_pending_pushes_of_a_disconnected_account_count_as_waiting(connected, capsys):
    """A push can still be pending for a moment after its account was disconnected (the
    sweeper moves it to waiting within a minute): it goes out on reconnect all the same."""
    calendar = connected.calendars.get(is_default=True)
    for state, subject in [(PushState.PENDING, "Under way"), (PushState.WAITING, "Later")]:
        PushedEvent.objects.create(
            host=connected.host,
            calendar=calendar,
            source=f"booking:{subject}",
            payload={"subject": subject},
            state=state,
        )
    CalendarConnection.objects.filter(pk=connected.pk).update(
        status=ConnectionStatus.DISCONNECTED, disconnect_reason=DisconnectReason.REVOKED
    )

    assert status_line(capsys).endswith(" pending=0 waiting=2 failed=0 push=unused")
