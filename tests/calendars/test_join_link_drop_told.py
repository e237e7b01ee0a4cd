"""A meeting's lost join link is told to the invitee once, even when the push that forgot it
fails before remaking the event; Graph's answers in turn, with ``responses`` (the sandbox
cannot fail a create after the update it answered)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.email_outbox import JOIN_LINK_DROP, link_digest
from booking.models import BookingEmail, EmailState
from booking.services.bookings import Invitee, booking_create
from booking.services.pages import page_create
from calendars.models import PushedEvent
from tests.calendars.test_push_cancel import CALENDAR, push
from tests.support.booking import at, workday
from tests.support.microsoft import GRAPH, GRAPH_404, GRAPH_503

pytestmark = pytest.mark.django_db

LINK = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_old%40thread.v2/0"


@pytest.fixture
def row(connected, host) -> PushedEvent:
    """Dana's booking on Alice's phone page, whose event was made while the page was a
    Teams page: it holds the meeting Dana's confirmation gave her the link of. Pending:
    the event is to be made again without a meeting."""
    page = page_create(
        host=host,
        fields={
            "title": "Intro call",
            "slug": "intro",
            "location_kind": "phone",
            "location_details": "+44 20 7946 0958",
        },
    )
    booking = booking_create(
        page=page,
        start=at(workday("Europe/London"), 10),
        invitee=Invitee("Dana Invitee", "dana@example.com", "Europe/Paris"),
    )
    [row] = PushedEvent.objects.filter(source=booking.mirror_source)
    assert not row.payload["online_meeting"]
    PushedEvent.objects.filter(pk=row.pk).update(remote_id="AAMkOld", online_meeting_url=LINK)
    BookingEmail.objects.filter(booking=booking, kind="confirmed").update(
        state=EmailState.SENT,
        link_digest=link_digest(LINK),
        invitee_sent_at=datetime.now(UTC) - timedelta(hours=1),
    )
    row.refresh_from_db()
    return row


def test_a_push_that_forgot_the_link_and_then_failed_still_tells_the_drop_once(
    row, fake_microsoft, django_capture_on_commit_callbacks
):
    graph = fake_microsoft.mock
    # Deleted in Outlook: the update finds no event; the create that would remake it fails.
    graph.patch(f"{GRAPH}/me/events/AAMkOld", status=404, json=GRAPH_404)
    graph.post(f"{CALENDAR}/events", status=503, json=GRAPH_503, headers={"Retry-After": "1"})
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "retry"
    row.refresh_from_db()
    assert row.online_meeting_url == ""  # forgotten: its retry cannot tell it any more

    graph.replace("POST", f"{CALENDAR}/events", status=201, json={"id": "AAMkNew"})
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"

    drops = BookingEmail.objects.filter(kind=JOIN_LINK_DROP)
    assert [drop.link_digest for drop in drops] == [link_digest(LINK)]
