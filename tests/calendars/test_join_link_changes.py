"""The join link is announced once per link, and the database holds it to that: two
workers racing with one link write one email and one webhook; a meeting made again (the
host deleted the event in Outlook) gives the invitee its new link, once."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.core import mail
from django.db import IntegrityError, connection, connections, transaction

from booking.email_outbox import JOIN_LINK, JOIN_LINK_CHANGE, booking_emails_deliver
from booking.handlers import on_join_link_ready
from booking.models import Booking, BookingEmail, PageCalendar
from calendars import signals
from calendars.models import PushedEvent
from integrations.models import EventType, WebhookDelivery
from integrations.webhooks import endpoint_create
from tests.calendars.test_push import book_one, calendar_of, confirmations_sent, ours, push
from tests.support.office365 import ADELE, book_starts, offered, tomorrow

pytestmark = pytest.mark.slow

READY = EventType.BOOKING_MEETING_LINK_READY
LINK_KINDS = (JOIN_LINK, JOIN_LINK_CHANGE)


def _endpoint(owner):
    created, _secret = endpoint_create(
        owner=owner, url="http://127.0.0.1:22001/hook", events=[READY]
    )
    return created


def _ready_links() -> list[str]:
    rows = WebhookDelivery.objects.filter(event_type=READY).order_by("pk")
    return [json.loads(row.body)["data"]["join_url"] for row in rows]


def _link_emails() -> list[str]:
    return list(
        BookingEmail.objects.filter(kind__in=LINK_KINDS)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def _deliver_link_emails() -> list:
    mail.outbox.clear()
    for row in BookingEmail.objects.filter(kind__in=LINK_KINDS, state="pending"):
        assert booking_emails_deliver(email_id=row.pk).status == "synced"
    return list(mail.outbox)


def _held_signals(monkeypatch) -> list[dict]:
    """The push's ``join_link_ready`` signals, kept instead of sent after its commit."""
    held: list[dict] = []
    monkeypatch.setattr(signals, "send_after_commit", lambda signal, **kw: held.append(kw))
    return held


def test_the_database_takes_one_first_join_link_email_per_booking(client, adele, intro, o365):
    _made, _row = book_one(client)
    booking = Booking.objects.get()
    fields = {
        "booking": booking,
        "kind": JOIN_LINK,
        "actor": "calendar",
        "queued_at": booking.start,
    }
    BookingEmail.objects.create(**fields, link_digest="a" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingEmail.objects.create(**fields, link_digest="b" * 64)
    # And one email per link, whatever its kind.
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingEmail.objects.create(**{**fields, "kind": JOIN_LINK_CHANGE}, link_digest="a" * 64)


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
def test_two_workers_racing_with_one_link_write_one_email_and_one_webhook(
    transactional_db, client, host, adele, intro, o365, monkeypatch
):
    """The first worker has written its rows and not yet committed; the second, which
    cannot see them, is refused by the unique index once the first commits."""
    _endpoint(host)
    _made, row = book_one(client)
    confirmations_sent()  # the link comes later: in an email of its own
    held = _held_signals(monkeypatch)
    assert push(row) == "synced"
    [arguments] = held
    written, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                on_join_link_ready(None, **arguments)
                written.set()
                release.wait(60)
        except BaseException as error:
            errors.append(error)
            written.set()
        finally:
            connections.close_all()

    def second() -> None:
        try:
            written.wait(60)
            on_join_link_ready(None, **arguments)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    written.wait(60)
    # Let the first commit once the second has run or is waiting for it (bounded).
    for _ in range(3000):
        if not threads[1].is_alive() or _waiting_on_a_lock():
            break
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert _link_emails() == [JOIN_LINK]
    assert _ready_links() == [arguments["url"]]


def test_an_event_deleted_in_outlook_and_made_again_brings_its_new_link_once(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    _endpoint(host)
    made, row = book_one(client)
    confirmations_sent()
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [first] = ours(o365)
    [message, _to_the_host] = _deliver_link_emails()
    assert first.join_url in message.body

    # The host deletes the event in Outlook; the booking moves, so the push makes it again
    # (a new event: a new Teams meeting and link).
    o365.control.event_delete(ADELE, first.id)
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [second] = ours(o365)
    assert second.join_url.startswith("http")
    assert second.join_url != first.join_url

    assert _link_emails() == [JOIN_LINK, JOIN_LINK_CHANGE]
    [message] = _deliver_link_emails()
    assert message.to == ["invitee000@example.com"]
    assert message.subject.startswith("New join link: Intro call with")
    assert "has changed" in message.body
    assert second.join_url in message.body
    assert first.join_url not in message.body
    assert _ready_links() == [first.join_url, second.join_url]

    # Never twice for one link, and never for a link that is gone.
    with django_capture_on_commit_callbacks(execute=True):
        for url in (second.join_url, first.join_url):
            signals.join_link_ready.send(sender=None, source=row.source, url=url)
        row.refresh_from_db()
        push(row)
    assert _link_emails() == [JOIN_LINK, JOIN_LINK_CHANGE]
    assert _ready_links() == [first.join_url, second.join_url]


def test_only_the_main_calendars_event_is_the_meeting_so_only_its_remake_brings_a_new_link(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    """A page that also adds bookings to another calendar has one meeting, in the main
    booking calendar's event; the other calendar holds a copy without one. The copy made
    again is no news to the invitee; the meeting made again gives them its new link, once."""
    _endpoint(host)
    personal = calendar_of(adele, "Personal")
    PageCalendar.objects.create(page=intro, calendar=personal, add_bookings=True)
    start, _ = offered(client, "intro", first=tomorrow())[0]
    [made] = book_starts(client, "intro", [start])
    confirmations_sent()
    main, extra = PushedEvent.objects.filter(source=f"booking:{made['id']}").order_by("pk")
    assert extra.calendar == personal
    with django_capture_on_commit_callbacks(execute=True):
        assert push(extra) == "synced"  # the extra calendar's push finishes first
        assert push(main) == "synced"
    [first] = ours(o365)
    [copy] = ours(o365, calendar="Personal")
    assert copy.join_url == ""
    assert _link_emails() == [JOIN_LINK]
    assert _ready_links() == [first.join_url]

    o365.control.event_delete(ADELE, copy.id)
    o365.control.event_delete(ADELE, first.id)
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    for row in (extra, main):
        row.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            assert push(row) == "synced"
    [second] = ours(o365)
    assert second.join_url not in ("", first.join_url)
    assert _link_emails() == [JOIN_LINK, JOIN_LINK_CHANGE]
    assert _ready_links() == [first.join_url, second.join_url]
    changed = [m for m in _deliver_link_emails() if m.subject.startswith("New join link")]
    assert [second.join_url in message.body for message in changed] == [True]
