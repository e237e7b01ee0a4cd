"""What a push writes under its claim: the create request before the call (a retry sends
it again and is answered with the same event), then, with the settle in one statement,
the event's id and join link. A worker that dies between the create and the settle
leaves the create request on the row: the next attempt gets the same event back, and the
join link still reaches the invitee exactly once. Against the Graph sandbox over HTTPS."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.models import BookingEmail
from calendars.models import PushedEvent, PushState
from calendars.services import push as push_service
from calendars.services.push import pushed_event_push
from tests.calendars.test_confirmation_join_link import _book, _deliver_pending, _links_received
from tests.calendars.test_push import ours

pytestmark = pytest.mark.slow


def _row_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if 'UPDATE "calendars_pushedevent"' in q["sql"]]


def test_a_teams_push_writes_its_row_three_times_the_event_and_link_with_the_settle(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    _made, row = _book(client)
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert pushed_event_push(pushed_event_id=row.pk).status == "synced"
    [event] = ours(o365)
    writes = _row_writes(queries)
    # The claim, the create request (before the call), the settle.
    assert len(writes) == 3, writes
    assert '"create_request" =' in writes[1]
    assert '"remote_id" =' in writes[2]
    assert '"online_meeting_url" =' in writes[2]
    assert '"state" =' in writes[2]
    row.refresh_from_db()
    assert (row.state, row.remote_id, row.online_meeting_url) == (
        PushState.SYNCED,
        event.id,
        event.join_url,
    )
    # The join link was told once written: the confirmation carries it.
    confirmation = BookingEmail.objects.get(booking__uuid=_made["id"], kind="confirmed")
    assert confirmation.link_digest


def test_a_worker_dying_before_the_settle_leaves_one_event_and_one_link_for_each(
    client, host, adele, intro, o365, monkeypatch, django_capture_on_commit_callbacks
):
    made, row = _book(client)

    def died(*args, **kwargs):
        raise RuntimeError("the worker died")

    with monkeypatch.context() as patched, django_capture_on_commit_callbacks(execute=True):
        patched.setattr(push_service, "_record_success", died)
        with pytest.raises(RuntimeError):
            pushed_event_push(pushed_event_id=row.pk)
    row.refresh_from_db()
    # The event was made; the row keeps the create request (and its key), not yet its id.
    assert len(ours(o365)) == 1
    assert row.create_request is not None
    assert (row.state, row.remote_id, row.online_meeting_url) == (PushState.PENDING, "", "")
    confirmation = BookingEmail.objects.get(booking__uuid=made["id"], kind="confirmed")
    assert confirmation.link_digest == ""  # nothing was told of a link not written

    # Its lease runs out; the next attempt takes the row over.
    PushedEvent.objects.filter(pk=row.pk).update(claimed_until=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert pushed_event_push(pushed_event_id=row.pk).status == "synced"
    [event] = ours(o365, include_deleted=True)
    row.refresh_from_db()
    assert (row.state, row.remote_id, row.online_meeting_url) == (
        PushState.SYNCED,
        event.id,
        event.join_url,
    )
    mail.outbox.clear()
    _deliver_pending()
    assert _links_received(event.join_url) == {"dana0@example.com": 1, host.email: 1}
    assert set(BookingEmail.objects.values_list("kind", flat=True)) == {"confirmed"}
