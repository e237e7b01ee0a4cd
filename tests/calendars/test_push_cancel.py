"""Cancelling a pushed event, against Graph's exact answers (``responses``).

The sandbox runs whole flows (``test_push.py``); here each Graph call of an attempt
is answered in turn, for sequences the sandbox cannot arrange: a lookup that
finds the event and a delete that then fails, or a calendar that refuses both
writing and reading.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from calendars.error_text import error_shown
from calendars.models import PushedEvent, PushState
from calendars.services.mirroring import event_mirror, event_unmirror
from calendars.services.push import pushed_event_push
from tests.support.events import INTRO_CALL, intro_call_at
from tests.support.microsoft import GRAPH, GRAPH_503

pytestmark = pytest.mark.django_db

EVENT = INTRO_CALL
MOVED = intro_call_at(datetime(2026, 12, 2, 14, 0, tzinfo=UTC))
CALENDAR = f"{GRAPH}/me/calendars/AAMkADefault%3D"
ACCESS_DENIED = {
    "error": {
        "code": "ErrorAccessDenied",
        "message": "Access is denied. Check credentials and try again.",
        "innerError": {"date": "2026-03-02T10:15:27", "request-id": "b7c8"},
    }
}


@pytest.fixture
def graph(fake_microsoft):
    return fake_microsoft.mock


@pytest.fixture
def row(connected) -> PushedEvent:
    """Alice's booking, to be mirrored into her default calendar (not pushed yet)."""
    calendar = connected.calendars.get(is_default=True)
    [row] = event_mirror(host=connected.host, source="booking:1", event=EVENT, calendars=[calendar])
    return row


def push(row: PushedEvent) -> str:
    """One attempt, as the worker makes it (``now`` past any retry delay)."""
    PushedEvent.objects.filter(pk=row.pk).update(next_attempt_at=None)
    return pushed_event_push(pushed_event_id=row.pk).status


def graph_calls(graph) -> list[tuple[str, str]]:
    """(method, last path segment) of every call to Graph so far."""
    calls = [c.request for c in graph.calls if c.request.url.startswith(GRAPH)]
    return [(r.method, r.path_url.split("?")[0].rsplit("/", 1)[-1]) for r in calls]


def test_a_retry_after_a_failed_delete_deletes_the_event_the_lookup_found(graph, row):
    graph.post(f"{CALENDAR}/events", body=requests.ConnectionError("connection dropped"))
    assert push(row) == "retry"  # the create's answer was lost: it may have made the event
    event_unmirror(source=row.source)
    row.refresh_from_db()
    found = {"id": "AAMkLost", "transactionId": str(row.transaction_id)}
    graph.get(f"{CALENDAR}/calendarView", json={"value": [found]})
    graph.delete(
        f"{GRAPH}/me/events/AAMkLost", status=503, json=GRAPH_503, headers={"Retry-After": "30"}
    )
    assert push(row) == "retry"  # found it, but the delete failed

    # Meanwhile the host dragged it to another day: where it was made, nothing is seen now.
    graph.get(f"{CALENDAR}/calendarView", json={"value": []})
    graph.delete(f"{GRAPH}/me/events/AAMkLost", status=204)
    before = len(graph_calls(graph))
    assert push(row) == "synced"

    assert graph_calls(graph)[before:] == [("DELETE", "AAMkLost")]
    row.refresh_from_db()
    assert (row.state, row.remote_id) == (PushState.SYNCED, "")


def test_a_create_graph_refused_leaves_nothing_to_look_up_when_cancelled(graph, row):
    # The calendar refuses us both writing and reading (ErrorAccessDenied).
    graph.post(f"{CALENDAR}/events", status=403, json=ACCESS_DENIED)
    graph.get(f"{CALENDAR}/calendarView", status=403, json=ACCESS_DENIED)
    assert push(row) == "failed"
    row.refresh_from_db()
    assert error_shown(row.last_error) == (
        "Office 365 no longer lets us write to (or read) this calendar"
    )

    # Graph answered no: nothing was made, so the cancel has nothing to look for (it used
    # to look, was refused as well and failed, and so did every Retry in Setup).
    event_unmirror(source=row.source)
    before = len(graph_calls(graph))
    assert push(row) == "synced"
    assert graph_calls(graph)[before:] == []


def test_a_create_graph_refused_is_sent_afresh_once_the_booking_moves(graph, row, host):
    graph.post(f"{CALENDAR}/events", status=403, json=ACCESS_DENIED)
    assert push(row) == "failed"

    # The host fixed the calendar's permissions; the invitee then moved the booking.
    graph.post(f"{CALENDAR}/events", status=201, json={"id": "AAMkMade"})
    [moved] = event_mirror(host=host, source=row.source, event=MOVED, calendars=[row.calendar])
    before = len(graph_calls(graph))
    assert push(moved) == "synced"

    # One create, of the booking as it is now (no create of the old time, then a move).
    assert graph_calls(graph)[before:] == [("POST", "events")]
    sent = graph.calls[-1].request
    assert b'"2026-12-02T14:00:00' in sent.body
    moved.refresh_from_db()
    assert moved.remote_id == "AAMkMade"
