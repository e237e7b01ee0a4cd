"""Calendars announce connection changes after commit, to listeners it never imports."""

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


def test_disconnecting_and_reconnecting_the_same_account_are_announced_after_commit(
    host, connected, fake_microsoft, heard, django_capture_on_commit_callbacks
):
    ids = {"connection_id": connected.pk, "host_id": host.pk, "provider": "office365"}
    with django_capture_on_commit_callbacks(execute=False) as pending:
        connection_disconnect(connection=connected)
    assert heard == []  # not before the commit
    for callback in pending:
        callback()
    assert heard == [("disconnected", {**ids, "reason": DisconnectReason.HOST})]

    with django_capture_on_commit_callbacks(execute=True):
        fake_microsoft.connect(host)
    assert heard[1:] == [("reconnected", ids)]


def test_a_first_connection_is_not_a_reconnection(host, fake_microsoft, heard):
    fake_microsoft.connect(host)
    assert heard == []
