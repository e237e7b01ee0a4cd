"""A create that Graph answers 409 with a code other than ErrorDuplicateTransactionId
(``responses``: the sandbox never answers so).

Graph's ``transactionId`` exists so that a retried create does not make a second
event; a conflict other than "the key was used for another request" says nothing
about whether an earlier sending made the event. So the event is looked up by its
key, as for a cancel whose create answer was lost, instead of the create being
retried until the row fails.
"""

from __future__ import annotations

import json

import pytest

from calendars.models import PushedEvent, PushState
from calendars.services.mirroring import event_mirror
from calendars.services.push import pushed_event_push
from tests.support.events import INTRO_CALL
from tests.support.microsoft import GRAPH

pytestmark = pytest.mark.django_db

CALENDAR = f"{GRAPH}/me/calendars/AAMkADefault%3D"
CONFLICT = {
    "error": {
        "code": "ErrorIrresolvableConflict",
        "message": "The operation could not be completed because of a conflict.",
        "innerError": {"date": "2026-03-02T10:15:27", "request-id": "c0f1"},
    }
}


@pytest.fixture
def graph(fake_microsoft):
    return fake_microsoft.mock


@pytest.fixture
def row(connected) -> PushedEvent:
    calendar = connected.calendars.get(is_default=True)
    [row] = event_mirror(
        host=connected.host, source="booking:1", event=INTRO_CALL, calendars=[calendar]
    )
    return row


def push(row: PushedEvent) -> str:
    PushedEvent.objects.filter(pk=row.pk).update(next_attempt_at=None)
    return pushed_event_push(pushed_event_id=row.pk).status


def graph_calls(graph) -> list[tuple[str, str]]:
    calls = [c.request for c in graph.calls if c.request.url.startswith(GRAPH)]
    return [(r.method, r.path_url.split("?")[0].rsplit("/", 1)[-1]) for r in calls]


def test_a_conflicting_create_whose_event_exists_takes_that_event(graph, row):
    graph.post(f"{CALENDAR}/events", status=409, json=CONFLICT)
    made = {"id": "AAMkMade", "transactionId": str(row.transaction_id)}
    graph.get(f"{CALENDAR}/calendarView", json={"value": [made]})
    graph.patch(f"{GRAPH}/me/events/AAMkMade", json=made)
    before = len(graph_calls(graph))

    assert push(row) == "synced"

    assert graph_calls(graph)[before:] == [
        ("POST", "events"),
        ("GET", "calendarView"),
        ("PATCH", "AAMkMade"),
    ]
    row.refresh_from_db()
    assert (row.state, row.remote_id) == (PushState.SYNCED, "AAMkMade")


def test_a_conflicting_create_without_its_event_is_retried_with_the_same_key(graph, row):
    graph.post(f"{CALENDAR}/events", status=409, json=CONFLICT)
    graph.get(f"{CALENDAR}/calendarView", json={"value": []})
    key = row.transaction_id

    assert push(row) == "retry"

    row.refresh_from_db()
    assert (row.state, row.transaction_id, row.remote_id) == (PushState.PENDING, key, "")
    graph.post(f"{CALENDAR}/events", status=201, json={"id": "AAMkLater"})
    assert push(row) == "synced"
    sent = [c.request for c in graph.calls if c.request.url == f"{CALENDAR}/events"]
    assert [json.loads(request.body)["transactionId"] for request in sent] == [str(key)] * 2
    row.refresh_from_db()
    assert row.remote_id == "AAMkLater"
