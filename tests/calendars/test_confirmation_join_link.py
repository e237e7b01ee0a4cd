"""A Teams booking's confirmation carries the join link when the push made it first: one
email to the invitee and one to the host, each with the link (text and .ics), and no
"Join link" email after it. A link that comes after the confirmation went gets its own
email, to both; whatever the order of the push and the confirmation (separate workers,
a confirmation under way, a worker that died holding it, a mail server that refused
the host's), each of them gets the link exactly once. A meeting that loses its link
(made again without one) is told to the invitee once.

In-process against the Graph sandbox; tests/calendars/test_confirmation_join_link_worker.py
runs the same story with a real worker.
"""

from __future__ import annotations

import random
import smtplib
import threading
from functools import partial

import pytest
from django.core import mail
from django.db import connections

from booking import email_outbox
from booking.email_outbox import (
    JOIN_LINK,
    JOIN_LINK_CHANGE,
    booking_emails_deliver,
    link_digest,
)
from booking.handlers import on_join_link_ready
from booking.models import BookingEmail
from calendars import signals
from integrations.models import EventType, WebhookDelivery
from integrations.webhooks import endpoint_create
from tests.calendars.test_push import ours, push
from tests.support.booking import book
from tests.support.office365 import ADELE, offered, rows_for, tomorrow

pytestmark = pytest.mark.slow

LINK_KINDS = (JOIN_LINK, JOIN_LINK_CHANGE)
JOIN_LINK_DROP = "join_link_drop"  # booking.email_outbox.JOIN_LINK_DROP


def _book(client, *, index: int = 0, locale: str = "en-US", name: str = "Dana"):
    start, _ = offered(client, "intro", first=tomorrow())[index]
    email = f"{name.lower()}{index}@example.com"
    answer = book(client, "intro", start=start, name=name, email=email, answers={}, locale=locale)
    assert answer.status_code == 201, answer.content[:300]
    made = answer.json()
    [row] = rows_for(made["id"])
    return made, row


def _confirmation_row(made: dict) -> BookingEmail:
    return BookingEmail.objects.get(booking__uuid=made["id"], kind="confirmed")


def _deliver_pending() -> None:
    for row in BookingEmail.objects.filter(state="pending").order_by("pk"):
        booking_emails_deliver(email_id=row.pk)


def _ics(message) -> str:
    [(name, content, kind)] = message.attachments
    assert (name, kind) == ("invite.ics", "text/calendar")
    return content.decode() if isinstance(content, bytes) else content


def _unfolded(ics: str) -> str:
    return ics.replace("\r\n ", "")


def _links_received(url: str) -> dict[str, int]:
    """How many emails gave each recipient the link ``url``."""
    counts: dict[str, int] = {}
    for message in mail.outbox:
        if url in message.body:
            counts[message.to[0]] = counts.get(message.to[0], 0) + 1
    return counts


def test_the_push_first_gives_one_confirmation_each_with_the_link_and_no_other_email(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    ready, _ = endpoint_create(
        owner=host,
        url="http://127.0.0.1:22001/hook",
        events=[EventType.BOOKING_MEETING_LINK_READY],
    )
    _made, row = _book(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    assert event.join_url.startswith("http")
    mail.outbox.clear()
    _deliver_pending()

    to_invitee, to_host = mail.outbox
    assert (to_invitee.to, to_host.to) == (["dana0@example.com"], [host.email])
    for message in (to_invitee, to_host):
        assert message.subject.startswith("Confirmed: Intro call with")
        assert f"Join:  {event.join_url}\n" in message.body
        ics = _unfolded(_ics(message))
        assert f"\r\nURL:{event.join_url}\r\n" in ics
        assert f"DESCRIPTION:Join the Microsoft Teams meeting: {event.join_url}" in ics
    assert set(BookingEmail.objects.values_list("kind", flat=True)) == {"confirmed"}
    # The webhook still says the link is ready, once, as the join-link email did.
    assert (
        WebhookDelivery.objects.filter(
            endpoint=ready, event_type=EventType.BOOKING_MEETING_LINK_READY
        ).count()
        == 1
    )

    # The push's signal again (a retried push, a second worker): nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        signals.join_link_ready.send(sender=None, source=row.source, url=event.join_url)
    assert set(BookingEmail.objects.values_list("kind", flat=True)) == {"confirmed"}
    assert (
        WebhookDelivery.objects.filter(event_type=EventType.BOOKING_MEETING_LINK_READY).count() == 1
    )


def test_a_german_invitee_reads_the_link_in_german(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    _made, row = _book(client, locale="de-DE")
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    mail.outbox.clear()
    _deliver_pending()
    to_invitee, _to_host = mail.outbox
    assert to_invitee.subject.startswith("Bestätigt: ")
    assert f"Teilnehmen:  {event.join_url}\n" in to_invitee.body
    ics = _unfolded(_ics(to_invitee))
    assert f"DESCRIPTION:An der Microsoft-Teams-Besprechung teilnehmen: {event.join_url}" in ics


def test_a_link_after_the_confirmation_went_comes_in_one_email_to_each(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    _made, row = _book(client, locale="de-DE")
    mail.outbox.clear()
    _deliver_pending()  # the confirmations go first (Graph was slow)
    assert len(mail.outbox) == 2
    assert not any("Teilnehmen:" in m.body or "Join:" in m.body for m in mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    mail.outbox.clear()
    _deliver_pending()
    to_invitee, to_host = mail.outbox
    assert to_invitee.subject.startswith("Teilnahmelink: Intro call mit")
    assert "Der Microsoft-Teams-Link für Ihren Termin mit" in to_invitee.body
    assert to_host.to == [host.email]
    assert "it is also in your calendar" in to_host.body  # the host reads English
    assert _links_received(event.join_url) == {"dana0@example.com": 1, host.email: 1}


@pytest.mark.postgres
def test_a_confirmation_under_way_before_the_link_leaves_it_to_the_join_link_email(
    transactional_db, client, host, adele, intro, o365, monkeypatch
):
    """The confirmation was claimed (and read the booking) before the link came: the push
    writes the join-link email, and the confirmation, still sending, carries none."""
    made, row = _book(client)
    held: list[dict] = []
    monkeypatch.setattr(signals, "send_after_commit", lambda signal, **kw: held.append(kw))
    confirmation = _confirmation_row(made)
    sending, go_on = threading.Event(), threading.Event()
    real_send = email_outbox.send_booking_email

    def slow_send(**kwargs):
        sending.set()
        assert go_on.wait(60)
        return real_send(**kwargs)

    monkeypatch.setattr(email_outbox, "send_booking_email", slow_send)
    outcome: list = []
    worker = threading.Thread(
        target=lambda: (
            outcome.append(booking_emails_deliver(email_id=confirmation.pk).status),
            connections.close_all(),
        )
    )
    worker.start()
    assert sending.wait(60)
    assert push(row) == "synced"
    [arguments] = held
    on_join_link_ready(None, **arguments)
    go_on.set()
    worker.join(60)
    assert outcome == ["synced"]
    monkeypatch.setattr(email_outbox, "send_booking_email", real_send)

    assert list(
        BookingEmail.objects.filter(kind__in=LINK_KINDS).values_list("kind", flat=True)
    ) == [JOIN_LINK]
    _deliver_pending()
    url = arguments["url"]
    assert _links_received(url) == {"dana0@example.com": 1, host.email: 1}


def test_a_confirmation_whose_worker_died_after_its_claim_is_answered_by_the_join_link_email(
    client, host, adele, intro, o365, monkeypatch
):
    """A worker claimed the confirmation and died (its claim left behind, run out): the
    link goes in its own email, and the confirmation's retry carries none."""
    from outbox.claims import claim_take

    made, row = _book(client)
    confirmation = _confirmation_row(made)
    assert claim_take(items=BookingEmail.objects.all(), pk=confirmation.pk, lease_seconds=0)
    held: list[dict] = []
    monkeypatch.setattr(signals, "send_after_commit", lambda signal, **kw: held.append(kw))
    assert push(row) == "synced"
    [arguments] = held
    on_join_link_ready(None, **arguments)
    assert BookingEmail.objects.filter(kind=JOIN_LINK).count() == 1
    mail.outbox.clear()
    _deliver_pending()  # the confirmation's retry (its lease ran out), then the link's
    assert len(mail.outbox) == 4
    assert _links_received(arguments["url"]) == {"dana0@example.com": 1, host.email: 1}


def test_a_host_email_the_mail_server_refused_gets_the_link_with_the_invitees_email(
    client, host, adele, intro, o365, monkeypatch, django_capture_on_commit_callbacks
):
    """The invitee's confirmation went without the link, the host's was refused and waits
    for its retry: both get the link in the join-link email, and the host's retried
    confirmation carries none."""
    made, row = _book(client)
    confirmation = _confirmation_row(made)
    real_send = email_outbox.send_booking_email

    def refuse_host(**kwargs):
        if kwargs["who"] == "host":
            raise smtplib.SMTPServerDisconnected("gone")
        return real_send(**kwargs)

    monkeypatch.setattr(email_outbox, "send_booking_email", refuse_host)
    mail.outbox.clear()
    assert booking_emails_deliver(email_id=confirmation.pk).status == "retry"
    monkeypatch.setattr(email_outbox, "send_booking_email", real_send)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    BookingEmail.objects.update(next_attempt_at=None)
    _deliver_pending()
    assert _links_received(event.join_url) == {"dana0@example.com": 1, host.email: 1}
    assert len(mail.outbox) == 4  # two confirmations, two join-link emails


def test_a_confirmation_that_carried_the_link_and_failed_for_good_is_followed_by_the_link(
    client, host, adele, intro, o365, monkeypatch, django_capture_on_commit_callbacks
):
    """The confirmation took the link; the mail server took the invitee's and refused the
    host's for every try (about five hours): the host gets the link in a join-link email
    of its own, once; the invitee, who had it, nothing more."""
    made, row = _book(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [event] = ours(o365)
    confirmation = _confirmation_row(made)
    real_send = email_outbox.send_booking_email

    def refuse_host(**kwargs):
        if kwargs["who"] == "host":
            raise smtplib.SMTPRecipientsRefused({host.email: (451, b"try later")})
        return real_send(**kwargs)

    monkeypatch.setattr(email_outbox, "send_booking_email", refuse_host)
    mail.outbox.clear()
    outcomes = []
    for _ in range(len(email_outbox.EMAIL_RETRY_DELAYS) + 1):
        BookingEmail.objects.filter(pk=confirmation.pk).update(next_attempt_at=None)
        with django_capture_on_commit_callbacks(execute=True):
            outcomes.append(booking_emails_deliver(email_id=confirmation.pk).status)
    assert outcomes[-1] == "failed"
    assert _links_received(event.join_url) == {"dana0@example.com": 1}  # her confirmation

    monkeypatch.setattr(email_outbox, "send_booking_email", real_send)
    _deliver_pending()
    assert _links_received(event.join_url) == {host.email: 1, "dana0@example.com": 1}
    [follow_up] = mail.outbox[1:]
    assert follow_up.subject.startswith("Join link: Intro call with")

    # The push's signal again (a retried push): nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        signals.join_link_ready.send(sender=None, source=row.source, url=event.join_url)
    _deliver_pending()
    assert len(mail.outbox) == 2


@pytest.mark.postgres
def test_pushes_and_confirmations_racing_give_each_recipient_the_link_exactly_once(
    transactional_db, client, host, adele, intro, o365, monkeypatch
):
    """Many bookings; for each, the push's join-link step and the confirmation run at once
    in two threads (two workers), in random order: every invitee and the host get each
    booking's link exactly once, in the confirmation or in the join-link email."""
    count = 8
    made = [_book(client, index=i, name=f"Racer{i}")[0] for i in range(count)]
    held: list[dict] = []
    monkeypatch.setattr(signals, "send_after_commit", lambda signal, **kw: held.append(kw))
    for booking in made:
        [row] = rows_for(booking["id"])
        assert push(row) == "synced"
    links = {kw["source"]: kw["url"] for kw in held if "url" in kw}
    assert len(links) == count
    rng = random.Random(7)
    mail.outbox.clear()
    for booking in made:
        source = f"booking:{booking['id']}"
        confirmation = _confirmation_row(booking)
        _race(
            (
                partial(on_join_link_ready, None, source=source, url=links[source]),
                partial(booking_emails_deliver, email_id=confirmation.pk),
            ),
            delays=(rng.random() / 50, rng.random() / 50),
        )
    _deliver_pending()
    for number, booking in enumerate(made):
        url = links[f"booking:{booking['id']}"]
        assert _links_received(url) == {f"racer{number}{number}@example.com": 1, host.email: 1}


def _race(steps, *, delays) -> None:
    """Run ``steps`` at once, each in its own thread (a worker), after its delay."""
    start = threading.Barrier(len(steps))
    errors: list[BaseException] = []

    def run(step, delay: float) -> None:
        try:
            start.wait(10)
            threading.Event().wait(delay)
            step()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in zip(steps, delays, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def test_a_meeting_made_again_without_teams_tells_the_invitee_once_where_it_is_now(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    made, row = _book(client, locale="de-DE")
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [first] = ours(o365)
    _deliver_pending()  # the confirmation, with the link
    assert _links_received(first.join_url) == {"dana0@example.com": 1, host.email: 1}

    # The page is no longer a Teams page; the booking moves: its event is made again
    # (deleted in Outlook meanwhile), without a meeting.
    intro.location_kind, intro.location_details = "phone", "+44 20 7946 0958"
    intro.save(update_fields=["location_kind", "location_details"])
    o365.control.event_delete(ADELE, first.id)
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [second] = ours(o365)
    assert second.join_url == ""
    [dropped] = BookingEmail.objects.filter(kind=JOIN_LINK_DROP)
    assert dropped.link_digest == link_digest(first.join_url)

    # Once: the push again, the signal again.
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        push(row)
        signals.join_link_dropped.send(sender=None, source=row.source, url=first.join_url)
    assert BookingEmail.objects.filter(kind=JOIN_LINK_DROP).count() == 1

    mail.outbox.clear()
    _deliver_pending()
    drop_messages = [m for m in mail.outbox if m.subject.startswith("Kein Teams-Link mehr")]
    [message] = drop_messages
    assert message.to == ["dana0@example.com"]
    assert "hat keinen Microsoft-Teams-Link mehr" in message.body
    assert "Telefonat: +44 20 7946 0958" in message.body
    assert first.join_url not in message.body


def test_a_link_the_invitee_never_got_is_not_said_to_be_gone(
    client, host, adele, intro, o365, django_capture_on_commit_callbacks
):
    """The event was made again without a meeting before the confirmation went: it never
    carried the link, so there is nothing to take back."""
    made, row = _book(client)
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    [first] = ours(o365)
    intro.location_kind, intro.location_details = "phone", "+44 20 7946 0958"
    intro.save(update_fields=["location_kind", "location_details"])
    o365.control.event_delete(ADELE, first.id)
    new_start, _ = offered(client, "intro", first=tomorrow())[3]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(made["reschedule_url"], {"start": new_start}).status_code == 302
    row.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert push(row) == "synced"
    assert not BookingEmail.objects.filter(kind=JOIN_LINK_DROP).exists()
    mail.outbox.clear()
    _deliver_pending()
    assert not any(first.join_url in m.body for m in mail.outbox)


def test_a_link_marks_a_pending_confirmation_under_its_lock_without_compiling_sql(
    client, host, adele, intro, o365, monkeypatch
):
    """Every Teams booking's push marks its confirmation: the locked read and the mark run
    SQL compiled once per process, and the read still takes the row's lock."""
    from django.db import connection, transaction
    from django.db.models.sql.compiler import SQLCompiler
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from booking.email_outbox import join_link_email_add

    made = [_confirmation_row(_book(client, index=index)[0]) for index in (0, 1)]
    urls = ["https://teams.example.com/l/one", "https://teams.example.com/l/two"]
    versions = {confirmation.pk: confirmation.booking.sequence for confirmation in made}

    def mark(confirmation: BookingEmail, url: str) -> BookingEmail | None:
        with transaction.atomic():
            return join_link_email_add(
                booking_id=confirmation.booking_id,
                version=versions[confirmation.pk],
                url=url,
                live_urls=[url],
                now=timezone.now(),
            )

    assert mark(made[0], urls[0]).pk == made[0].pk  # the first of each shape compiles it
    compiled: list[int] = []
    real = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda *a, **k: compiled.append(1) or real(*a, **k))
    with CaptureQueriesContext(connection) as queries:
        marked = mark(made[1], urls[1])
    assert compiled == []
    assert marked.pk == made[1].pk
    assert marked.kind == "confirmed"
    locked = [query["sql"] for query in queries if "FOR UPDATE" in query["sql"]]
    assert len(locked) == (1 if connection.vendor == "postgresql" else 0), queries.captured_queries
    for confirmation, url in zip(made, urls, strict=True):
        confirmation.refresh_from_db()
        assert confirmation.link_digest == link_digest(url)
    # Marked already: nothing more, and no other email row.
    assert mark(made[1], urls[1]) is None
    assert set(BookingEmail.objects.values_list("kind", flat=True)) == {"confirmed"}
