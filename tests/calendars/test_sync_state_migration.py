"""Moving sync state off ``Calendar`` keeps every stored delta link (no full re-read)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("calendars", "0004_sign_in_handoff_skipped_names")]
AFTER = [("calendars", "0005_calendar_sync_state")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_delta_links_and_windows_move_to_the_sync_state_rows(host):
    old = _migrate(BEFORE)
    Connection = old.get_model("calendars", "CalendarConnection")
    Calendar = old.get_model("calendars", "Calendar")
    account = Connection.objects.create(
        host_id=host.pk, provider="office365", account_id="uid.tid", account_email="a@contoso.com"
    )
    window = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
    synced = Calendar.objects.create(
        connection=account,
        remote_id="AAA",
        name="Calendar",
        delta_link="https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=d7",
        synced_from=window[0],
        synced_until=window[1],
        full_synced_at=window[0],
    )
    never = Calendar.objects.create(connection=account, remote_id="BBB", name="Personal")
    try:
        new = _migrate(AFTER)
        State = new.get_model("calendars", "CalendarSyncState")
        state = State.objects.get(calendar_id=synced.pk)
        assert state.delta_link.endswith("$deltatoken=d7")
        assert (state.synced_from, state.synced_until) == window
        assert state.full_synced_at == window[0]
        assert not State.objects.filter(calendar_id=never.pk).exists()

        back = _migrate(BEFORE)
        restored = back.get_model("calendars", "Calendar").objects.get(pk=synced.pk)
        assert restored.delta_link.endswith("$deltatoken=d7")
        assert restored.synced_until == window[1]
    finally:
        _migrate(_latest())


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
