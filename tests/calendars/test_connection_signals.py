"""Calendars announce connection changes inside their transaction, to listeners it never
imports: what a listener writes commits, or rolls back, with the change."""

from __future__ import annotations

import pytest

from calendars.models import DisconnectReason
from calendars.services.connections import connection_disconnect
from calendars.signals import connection_disconnected, connection_reconnected

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """What listeners of the two signals received, in order."""
    received: list[tuple[str, dict]] = []

    def on_disconnected(sender, signal, **arguments):
        received.append(("disconnected", arguments))

    def on_reconnected(sender, signal, **arguments):
        received.append(("reconnected", arguments))

    connection_disconnected.connect(on_disconnected, dispatch_uid="test-disconnected")
    connection_reconnected.connect(on_reconnected, dispatch_uid="test-reconnected")
    yield received
    connection_disconnected.disconnect(dispatch_uid="test-disconnected")
    connection_reconnected.disconnect(dispatch_uid="test-reconnected")


def test_disconnecting_and_reconnecting_the_same_account_are_announced_in_the_transaction(
    host, connected, fake_microsoft, heard, django_capture_on_commit_callbacks
):
    ids = {"connection_id": connected.pk, "host_id": host.pk, "provider": "office365"}
    with django_capture_on_commit_callbacks(execute=False):
        connection_disconnect(connection=connected)
    # Heard before any commit callback ran: a listener's rows share the change's fate.
    assert heard == [("disconnected", {**ids, "reason": DisconnectReason.HOST})]

    with django_capture_on_commit_callbacks(execute=False):
        fake_microsoft.connect(host)
    assert heard[1:] == [("reconnected", ids)]


def test_a_listener_that_fails_undoes_the_disconnection(host, connected):
    from django.db import transaction

    from calendars.models import CalendarConnection, ConnectionStatus

    def broken(sender, **arguments):
        raise RuntimeError("listener failed")

    connection_disconnected.connect(broken, dispatch_uid="test-broken")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            connection_disconnect(connection=connected)
    finally:
        connection_disconnected.disconnect(dispatch_uid="test-broken")
    assert CalendarConnection.objects.get(pk=connected.pk).status == ConnectionStatus.CONNECTED


def test_a_first_connection_is_not_a_reconnection(host, fake_microsoft, heard):
    fake_microsoft.connect(host)
    assert heard == []
