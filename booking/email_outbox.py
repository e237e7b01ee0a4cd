"""Booking emails through the shared outbox: one row, and one task, per booking event.

A booking event (``booking.events``) writes a ``BookingEmail`` row inside the
booking's own transaction, and its task is queued once that commits, off the
request's thread (``outbox.dispatch``): the invitee's request never waits on the
mail server or on the broker. If the broker was down, the outbox sweeper queues
the row later.

The task sends the invitee's and the host's email, one after the other, and
records each as sent while it still holds the row's claim, so a retry sends only
the ones still missing. A mail server that refuses or cannot be reached is tried
again on a fixed schedule of about five hours (``EMAIL_RETRY_DELAYS``).
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from booking.emails import (
    EMAIL_RETRY_DELAYS,
    RECIPIENTS,
    send_booking_email,
    send_handover_notice,
    send_join_link,
    send_join_link_dropped,
    send_reschedule_request,
)
from booking.events import BookingEvent
from booking.models import Booking, BookingEmail, EmailState
from booking.reminders import join_url_for
from booking.selectors import team_seats_for
from calendars.dispatch import PUSH_TASK
from ops.compiled_inserts import insert_values
from ops.compiled_queries import query_rows, reads, update_rows, writes
from ops.mail import connections_kept, mail_connection
from outbox import dispatch
from outbox.claims import Claim, LostClaim, claim_take
from outbox.mail import mail_failure_record
from outbox.outcomes import Outcome, Status
from outbox.sweeper import items_requeue

logger = logging.getLogger(__name__)

EMAIL_TASK = "booking.tasks.deliver_booking_emails"
# Seconds a worker may hold one row (two emails, each bounded by EMAIL_TIMEOUT).
EMAIL_LEASE = 120
# One message with the booking's push (outbox.dispatch), and sent before that push runs: the
# invitee waits for the confirmation, and a slow Graph must not hold it up.
dispatch.bundle_allow(EMAIL_TASK, first=True)
# A bundle's email rows (the confirmations, then the join link after the push) share one
# connection to the mail server.
dispatch.bundle_around(connections_kept)
# The booking's push runs ahead of its confirmation, for at most this many seconds, so the
# confirmation can carry the Teams meeting's join link the push answers with
# (``join_link_take``); a slower Graph is cut short there and the link follows on its own.
CONFIRMATION_WAITS_FOR_LINK = 3.0
dispatch.bundle_lead(PUSH_TASK, within=CONFIRMATION_WAITS_FOR_LINK)
SENT_FIELD = {"invitee": "invitee_sent_at", "host": "host_sent_at"}
# A host's ask to pick another time (Setup → Meetings): one email, to the invitee.
RESCHEDULE_REQUEST = "ask_reschedule"
# The online meeting's join link, sent to the invitee once the calendar made it.
JOIN_LINK = "join_link"
# A new join link after the calendar replaced the meeting (e.g. the event was deleted in
# Outlook and made again): sent to the invitee once per link.
JOIN_LINK_CHANGE = "join_link_change"
JOIN_LINK_KINDS = (JOIN_LINK, JOIN_LINK_CHANGE)
# The meeting lost its join link (made again without an online meeting, e.g. the page is
# no longer a Teams page, or handed to a member whose calendar cannot make one): sent to
# the invitee once per link dropped, as a new link would be (the host's calendar shows it).
JOIN_LINK_DROP = "join_link_drop"
INVITEE_ONLY = (RESCHEDULE_REQUEST, JOIN_LINK_CHANGE, JOIN_LINK_DROP)
# A move handed a round-robin meeting to another member: one email, to the member who had
# it (``previous_host``), saying to whom and why (``note``: ``HANDOVER_REASONS``). Its one
# email is recorded in ``host_sent_at``.
HANDED_OVER = "handed_over"
HANDOVER_REASONS = ("not_a_member", "not_connected")
SENT_FIELD["previous_host"] = "host_sent_at"
# The host's switch (Setup → Profile) for each kind of booking event's email. The first
# join link goes where the confirmation went, when the confirmation could not carry it.
HOST_PREFERENCE = {
    "confirmed": "notify_booked",
    JOIN_LINK: "notify_booked",
    "rescheduled": "notify_rescheduled",
    "cancelled": "notify_cancelled",
}


def on_booking_event(sender, *, event: BookingEvent, **kwargs) -> None:
    """``booking_event_recorded`` receiver: the event's emails, as one outbox row (and
    one more for the member a move handed the meeting from)."""
    booking_emails_add(event=event)
    if event.previous_host_id is not None:
        handover_email_add(event=event)


def booking_emails_add(*, event: BookingEvent) -> int:
    """Write the row for ``event``'s emails (in the caller's transaction); queued on commit.
    Its id (the row is written from plain values: nothing in the request reads it back)."""
    [email_id] = insert_values(
        BookingEmail,
        [
            {
                "booking_id": event.booking_id,
                "kind": str(event.kind),
                "actor": str(event.actor),
                "booking_version": event.version,
                "previous_host_id": event.previous_host_id,
                "queued_at": event.occurred_at,
            }
        ],
    )
    dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[email_id]])
    return email_id


def handover_email_add(*, event: BookingEvent) -> BookingEmail:
    """Write the row of the email to the member ``event`` handed the meeting from (in the
    caller's transaction), with why: they are no longer among the page's members, or
    their calendar is not connected (``round_robin_keeper``)."""
    booking = event.booking or Booking.objects.select_related("page").get(pk=event.booking_id)
    seats = {seat.user_id for seat in team_seats_for(page=booking.page)} if booking.page else set()
    reason = "not_connected" if event.previous_host_id in seats else "not_a_member"
    email = BookingEmail.objects.create(
        booking_id=event.booking_id,
        kind=HANDED_OVER,
        actor=event.actor,
        booking_version=event.version,
        previous_host_id=event.previous_host_id,
        note=reason,
        queued_at=event.occurred_at,
    )
    dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[email.pk]])
    return email


def reschedule_request_add(*, booking, note: str, now: datetime) -> BookingEmail:
    """Write the row of an "ask to reschedule" email (in the caller's transaction)."""
    email = BookingEmail.objects.create(
        booking=booking,
        kind=RESCHEDULE_REQUEST,
        actor="host",
        booking_version=booking.sequence,
        note=note,
        queued_at=now,
    )
    dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[email.pk]])
    return email


def join_link_email_add(
    *, booking_id: int, version: int, url: str, live_urls: Sequence[str], now: datetime
) -> BookingEmail | None:
    """Write the row of the email that gives the invitee (and, the first link, the host)
    the join link ``url`` (in the caller's transaction); None when nobody needs one.

    The booking's confirmation email carries its join link when it can: the row of a
    confirmation that has not started is marked with the link (and returned; no
    join-link email is written), and it takes the link when it goes
    (``join_link_take``). The confirmation's row is locked here, and the confirmation
    takes the link under the same lock, so exactly one of the two gives each recipient
    the link, whatever their order.

    The first link of a booking is announced once (kind ``join_link``). A later link is
    announced (kind ``join_link_change``) only when the last link the invitee got is no
    longer any wanted event's (``live_urls``: the event was made again, or moved to
    another calendar), and never twice. The database enforces both (the unique
    constraints on ``BookingEmail``): a second worker racing with the same link is
    refused there and answered None, as if it had seen the first one's row.
    """
    digest = link_digest(url)
    confirmation = _confirmation_locked(booking_id)
    if confirmation is not None and confirmation.state != EmailState.FAILED:
        if confirmation.link_digest == digest:
            return None  # the confirmation carries this link (announced already)
        if _not_started(confirmation):
            # It carries this link: it reads the link when it goes, after its claim.
            update_rows(_link_marked, confirmation.pk, digest)
            confirmation.link_digest = digest
            return confirmation
    announced = query_rows(_join_link_rows, booking_id)
    if confirmation is not None and confirmation.link_digest:
        announced = [(confirmation.link_digest,), *announced]  # the first link it carried
    if not announced:
        kind = JOIN_LINK
    else:
        latest = announced[-1][0]
        if digest in {row[0] for row in announced}:
            return None  # this link was announced already
        if latest in {link_digest(live) for live in live_urls}:
            return None  # the link the invitee has still works (another calendar's event)
        kind = JOIN_LINK_CHANGE
    # None: another worker wrote it first.
    return _link_email_add(booking_id, kind, version=version, digest=digest, now=now)


def join_link_drop_email_add(
    *, booking_id: int, version: int, url: str, now: datetime
) -> BookingEmail | None:
    """Write the row of the email telling the invitee that the join link ``url`` they were
    given no longer works (in the caller's transaction); None when they never had it, or
    were told already (the database takes one per link: ``one_email_per_dropped_link``)."""
    digest = link_digest(url)
    if not query_rows(_link_given, booking_id, digest):
        return None
    # None: told already.
    return _link_email_add(booking_id, JOIN_LINK_DROP, version=version, digest=digest, now=now)


def _link_email_add(
    booking_id: int, kind: str, *, version: int, digest: str, now: datetime
) -> BookingEmail | None:
    """Write a row about the join link of ``digest`` (queued on commit); None when the
    database already holds the one it allows for that link."""
    try:
        with transaction.atomic():
            email = BookingEmail.objects.create(
                booking_id=booking_id,
                kind=kind,
                actor="calendar",
                booking_version=version,
                link_digest=digest,
                queued_at=now,
            )
    except IntegrityError:
        return None
    dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[email.pk]])
    return email


@reads(BookingEmail)
def _link_given(booking_id: int, digest: str) -> QuerySet:
    """An email that gave (or gives) the invitee the link ``digest``: a join-link email,
    or the confirmation that took it (under way or sent)."""
    rows = BookingEmail.objects.filter(booking_id=booking_id, link_digest=digest)
    given = Q(kind__in=JOIN_LINK_KINDS) | Q(kind="confirmed", state=EmailState.SENT)
    given |= Q(kind="confirmed", state=EmailState.PENDING) & ~Q(claimed_by="")
    return rows.filter(given).values_list("pk")[:1]


def _confirmation_locked(booking_id: int) -> BookingEmail | None:
    """The booking's confirmation email row (``_CARRY_FIELDS`` read), locked until the
    caller's transaction ends. Every join-link signal of a Teams booking reads it: its SQL
    is compiled once per process."""
    alias = router.db_for_write(BookingEmail)
    if transaction.get_autocommit(using=alias):
        # As the ORM refuses it: a lock outside a transaction would be gone at once.
        raise transaction.TransactionManagementError(
            "the confirmation's lock needs the caller's transaction"
        )
    rows = query_rows(_confirmation_rows, booking_id, using=alias)
    # An instance with only these fields loaded, as ``.only()`` makes it.
    return BookingEmail.from_db(alias, _LOCKED_NAMES, rows[0]) if rows else None


_CARRY_FIELDS = ("kind", "state", "claimed_by", "invitee_sent_at", "host_sent_at", "link_digest")
# In the model's field order, as ``from_db`` takes them.
_LOCKED_NAMES = [
    field.attname
    for field in BookingEmail._meta.concrete_fields
    if field.attname in {"id", "booking_id", *_CARRY_FIELDS}
]


@reads(BookingEmail)
def _confirmation_rows(booking_id: int) -> QuerySet:
    rows = BookingEmail.objects.select_for_update().filter(booking_id=booking_id, kind="confirmed")
    return rows.order_by("pk").values_list(*_LOCKED_NAMES)[:1]


@writes(BookingEmail)
def _link_marked(email_id: int, digest: str) -> tuple[QuerySet, dict]:
    return BookingEmail.objects.filter(pk=email_id), {"link_digest": digest}


def _not_started(confirmation: BookingEmail) -> bool:
    """Whether the (locked) confirmation has not started: no claim (not even a dead
    worker's), nothing sent. It then takes the link it finds when it goes; one under way
    may have read the booking before the link came."""
    return (
        confirmation.state == EmailState.PENDING
        and not confirmation.claimed_by
        and confirmation.invitee_sent_at is None
        and confirmation.host_sent_at is None
    )


def join_link_take(*, claim: Claim) -> str:
    """The join link the claimed confirmation email carries ("" for none): the link its row
    was marked with (``join_link_email_add``, before the claim) if that is still the
    booking's link. Read after the claim, so no mark can come later: from then on a new
    link gets its own email. A link gone meanwhile is unmarked (the next link's email
    then counts as the first).
    """
    email: BookingEmail = claim.item
    if not email.link_digest:
        return ""
    url = join_url_for(booking=email.booking)
    if url and link_digest(url) == email.link_digest:
        return url
    claim.save(link_digest="")
    return ""


def link_digest(url: str) -> str:
    """What a join-link email row keeps of the link it announces."""
    return hashlib.sha256(url.encode()).hexdigest()


@reads(BookingEmail)
def _join_link_rows(booking_id: int) -> QuerySet:
    """The join links announced for the booking, oldest first."""
    rows = BookingEmail.objects.filter(booking_id=booking_id, kind__in=JOIN_LINK_KINDS)
    return rows.order_by("pk").values_list("link_digest")


def _recipients(email: BookingEmail) -> tuple[str, ...]:
    """Who this row's emails go to: the host only if their Profile says so."""
    if email.kind in INVITEE_ONLY:
        return ("invitee",)
    if email.kind == HANDED_OVER:
        # To them the meeting is gone from their calendar: their switch for cancellations.
        member = email.previous_host
        wanted = member is not None and getattr(member, "notify_cancelled", True)
        return ("previous_host",) if wanted else ()
    preference = HOST_PREFERENCE.get(email.kind)
    host = email.booking.host
    if preference is not None and not getattr(host, preference, True):
        return tuple(who for who in RECIPIENTS if who != "host")
    return RECIPIENTS


def _send(email: BookingEmail, who: str, connection, join_url: str = "") -> None:
    if email.kind == HANDED_OVER:
        send_handover_notice(
            booking_pk=email.booking_id,
            previous_host=email.previous_host,
            reason=email.note,
            booking=email.booking,
            connection=connection,
        )
    elif email.kind == RESCHEDULE_REQUEST:
        send_reschedule_request(booking_pk=email.booking_id, note=email.note, connection=connection)
    elif email.kind == JOIN_LINK_DROP:
        send_join_link_dropped(booking=email.booking, connection=connection)
    elif email.kind in JOIN_LINK_KINDS:
        send_join_link(
            booking_pk=email.booking_id,
            booking=email.booking,
            who=who,
            changed=email.kind == JOIN_LINK_CHANGE,
            connection=connection,
        )
    else:
        send_booking_email(
            booking_pk=email.booking_id,
            kind=email.kind,
            who=who,
            actor=email.actor,
            booking=email.booking,  # read with the claim, once for both recipients
            previous_host=email.previous_host if email.previous_host_id else None,
            join_url=join_url,
            connection=connection,
        )


def booking_emails_deliver(*, email_id: int, now: datetime | None = None) -> Outcome:
    """Send what the row still owes. Never called inside a web request; idempotent."""
    claim = claim_take(
        items=BookingEmail.objects.select_related("booking__host"),
        pk=email_id,
        lease_seconds=EMAIL_LEASE,
        now=now,
    )
    if claim is None:
        return Outcome(Status.SKIPPED)
    email: BookingEmail = claim.item
    # A host who turned an email off in Profile is left out (its ``*_sent_at`` stays
    # empty: not sent). The switch is read when the email goes, not when it was asked for.
    owed = [who for who in _recipients(email) if getattr(email, SENT_FIELD[who]) is None]
    sent: dict[str, datetime] = {}
    join_url = ""
    try:
        join_url = join_link_take(claim=claim) if owed and email.kind == "confirmed" else ""
        with mail_connection(needed=bool(owed)) as connection:
            for number, who in enumerate(owed):
                _send(email, who, connection, join_url)
                sent = {SENT_FIELD[who]: timezone.now()}
                if number < len(owed) - 1:
                    claim.save(**sent)  # recorded before the next one goes
    except LostClaim:
        return _lost(email)
    except (smtplib.SMTPException, OSError) as error:
        outcome = mail_failure_record(
            claim,
            error,
            delays=EMAIL_RETRY_DELAYS,
            failed_state=EmailState.FAILED,
            described=_describe(email),
        )
        if outcome.status == Status.FAILED and join_url:
            _carried_link_follow_up(email, join_url)
        return outcome
    # The last email's record and the row's end are one write, held by the claim as each
    # record is: lost, the row is left to the worker that took it over.
    if not claim.settle(state=EmailState.SENT, next_attempt_at=None, last_error="", **sent):
        return _lost(email)
    logger.info("%s: sent (attempt %s)", _describe(email), email.attempts)
    return Outcome(Status.SYNCED)


def _carried_link_follow_up(confirmation: BookingEmail, url: str) -> None:
    """The confirmation carried the join link ``url`` and failed for good: the link goes in
    its own email (kind ``join_link``, with its own retries) to whoever the confirmation
    did not reach, as if the link had come after it. Once: the database takes one first
    join-link email per booking, and a later signal finds the link announced."""
    with transaction.atomic():
        follow_up = _link_email_add(
            confirmation.booking_id,
            JOIN_LINK,
            version=confirmation.booking_version,
            digest=link_digest(url),
            now=timezone.now(),
        )
        if follow_up is not None:
            # Whoever got the confirmation got the link with it.
            BookingEmail.objects.filter(pk=follow_up.pk).update(
                invitee_sent_at=confirmation.invitee_sent_at,
                host_sent_at=confirmation.host_sent_at,
            )
    if follow_up is not None:
        logger.info("%s: its join link follows in row %s", _describe(confirmation), follow_up.pk)


def _lost(email: BookingEmail) -> Outcome:
    logger.warning("%s: lost its claim to another worker; stopping", _describe(email))
    return Outcome(Status.LOST)


def _describe(email: BookingEmail) -> str:
    return f"booking_emails row={email.pk} booking={email.booking_id} kind={email.kind}"


def booking_emails_sweep(now: datetime) -> list[int]:
    """Re-queue email rows whose task was lost (registered with the outbox sweeper)."""
    ids = items_requeue(
        items=BookingEmail.objects.all(),
        task=EMAIL_TASK,
        now=now,
        requeue_after=settings.OUTBOX_REQUEUE_AFTER,
    )
    if ids:
        logger.info("sweep booking emails: re-queued %d row(s): %s", len(ids), ids[:20])
    return ids
