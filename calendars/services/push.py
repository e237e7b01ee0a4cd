"""The event push: make one calendar match one ``PushedEvent`` row, exactly once.

A row holds the *desired* state (``payload``, ``wanted``, ``version``); this
module *reconciles* the calendar with it and records what it achieved:

- wanted, no remote event known: create it, with the row's ``transaction_id`` (the
  provider's idempotency key, Graph's ``transactionId``). The create request is
  written to the row *before* it is sent and every retry sends exactly that request
  again, so a create whose answer was lost (dropped connection, killed worker) is
  answered with the event it already made, never a second one. If the desired event
  changed meanwhile, the created event is then updated. Only a refusal of the
  request's first sending (a 4xx such as 403) proves that nothing was made: then the
  request is forgotten, so a cancel has nothing to look for and a later try sends
  the event as it is then.
- wanted, remote event known, newer version: update it (PATCH). If the event was
  deleted in the calendar (``EventGone``), it is made again under a fresh key. A key
  the provider says was used for another request (``DuplicateKey``) is looked up; so
  is the event of a create that met another conflict (``CreateConflict``), which is
  retried under the same key when nothing is found.
- not wanted, remote event known: delete it (already gone counts as done), then
  take a fresh key.
- not wanted, a create was sent but its answer never arrived: look the event up
  by ``transaction_id`` in the window it was sent for. If it is there, its id is
  recorded (so a retry after a failed delete deletes it by id) and it is deleted.
  If nothing is there, the row is settled but keeps its key and create request:
  whether that create made an event is still not known (the host may have moved
  it), and should the event be wanted in that calendar again, the same request
  brings back what the create made rather than a second event. A calendar that
  is gone (``CalendarGone``, as for one the host deleted in Outlook) holds no
  event any more: that counts as done, as deleting an event already gone does.
- not wanted and never attempted: nothing to do.

A worker first takes one of the mailbox's concurrent-call slots, then claims the
row through the shared outbox (``outbox.claims``: a conditional UPDATE on pending,
due, not claimed by a live worker). Every write after that is conditional on still
holding the claim, and the row is marked synced only if its ``version`` did not
change meanwhile (else it is pushed again). So running this twice, concurrently,
or after a crash is harmless. In a bundle (``outbox.dispatch``), a push also pushes the
bundle's later rows of the same account under its slot and access token, claimed
together (``PUSH_BATCH_MAX``); each row is still claimed, written and settled as its
own, and a row that does not go through ends the batch.

A failure that may pass (throttling, 5xx, a dropped connection) is retried with
backoff; after ``CALENDAR_PUSH_MAX_ATTEMPTS`` attempts the row is *failed*. A
sign-in that is gone (the account was disconnected) makes the row wait for a
reconnect; any other failure makes it *failed* at once. The host sees a failed
row in Setup, in plain words, with Retry.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import Error as DbError  # DatabaseError or InterfaceError (a closed connection)
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from calendars import crypto, signals
from calendars.backoff import busy_mailbox_delay, retry_delay
from calendars.dispatch import PUSH_TASK, push_enqueue
from calendars.error_text import error_shown, error_stored
from calendars.events import EventDescription
from calendars.models import CalendarConnection, PushedEvent, PushState
from calendars.providers import CalendarProvider, ProviderError
from calendars.providers.base import (
    CalendarGone,
    CreateConflict,
    DuplicateKey,
    EventGone,
    RemoteEvent,
)
from calendars.services.leases_owed import lease_give_back, leases_give_back_owed
from calendars.services.mailbox_slots import MailboxBusy, connection_call_slot
from calendars.services.mailbox_throttle import mailbox_throttled
from calendars.services.tokens import HeldToken, with_provider
from ops.compiled_queries import query_objects, reads
from ops.deadline import seconds_left
from ops.logging import log_context_bound
from ops.metrics import push_attempt_count
from outbox import dispatch
from outbox.claims import DUE_TOLERANCE, Claim, LostClaim, claim_take, claims_take
from outbox.outcomes import Outcome, Status

logger = logging.getLogger(__name__)
# Kept as a failed push's error, and translated when shown (calendars.error_text.error_shown).
UNFINISHED = gettext_noop("the attempts before this one never finished")

# Where to look for an event whose create answer was lost, around the times it was sent for.
LOOKUP_MARGIN = timedelta(minutes=1)
# What a push returns: the shared outbox's typed outcome.
PushOutcome = Outcome


@dataclass
class _Work:
    """One claimed row being pushed, through the claim every write is conditional on."""

    claim: Claim
    connection: CalendarConnection
    # The access token of the push (or of the batch of pushes this one belongs to).
    held: HeldToken = field(default_factory=HeldToken)
    # The connection was read just now (after the claim): its first call uses its tokens
    # as read, rather than reading the row again.
    connection_fresh: bool = True
    # The join link stored when the row was claimed, until its loss was told
    # (``_join_link_dropped``).
    link_known: str = field(init=False)
    # Fields for the row's next write under the claim (``save_later``), and the signals
    # (signal, join link) to send once they are written.
    later: dict = field(default_factory=dict, init=False)
    told_later: list = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.link_known = self.claim.item.online_meeting_url

    @property
    def row(self) -> PushedEvent:
        return self.claim.item

    def save(self, **fields) -> None:
        """Write ``fields`` (and any kept for later) to the row, only while we still hold
        it (write-ahead records)."""
        later, self.later = self.later, {}
        self.claim.save(**{**later, **fields})
        self._tell()

    def save_later(self, **fields) -> None:
        """Write ``fields`` with the row's next write under the claim (at the latest the
        one that ends the attempt), not in a statement of their own: for what a retry
        finds again by itself should the attempt die before that, such as the event a
        create made (the create request is on the row: sent again, it is answered with
        that event). The row shows them from now on."""
        for name, value in fields.items():
            setattr(self.row, name, value)
        self.later.update(fields)

    def tell_later(self, signal, url: str) -> None:
        """Send ``signal`` about the join link ``url`` (after commit) once the row's fields
        kept for later are written: its receivers read the row's link."""
        if self.later:
            self.told_later.append((signal, url))
        else:
            signals.send_after_commit(signal, source=self.row.source, url=url)

    def settle(self, **arguments) -> bool:
        """``Claim.settle`` with the fields kept for later (written either way)."""
        later, self.later = self.later, {}
        settled = self.claim.settle(also=later, **arguments)
        self._tell()
        return settled

    def retry_later(self, **arguments) -> bool:
        """``Claim.retry_later`` with the fields kept for later (written either way)."""
        later, self.later = self.later, {}
        waiting = self.claim.retry_later(also=later, **arguments)
        self._tell()
        return waiting

    def release(self, **fields) -> bool:
        """``Claim.release`` with the fields kept for later."""
        later, self.later = self.later, {}
        released = self.claim.release(**{**later, **fields})
        self._tell()
        return released

    def _tell(self) -> None:
        told, self.told_later = self.told_later, []
        if self.claim.lost:
            return  # not written: the attempt that holds the row now tells
        for signal, url in told:
            signals.send_after_commit(signal, source=self.row.source, url=url)

    def describe(self) -> str:
        row = self.row
        return (
            f"push_event row={row.pk} {row.source} connection={self.connection.pk} "
            f"calendar={row.calendar_id} version={row.version}"
        )


# --- entry point --------------------------------------------------------------------------------


# A push that runs in a bundle (``outbox.dispatch``: under load, several bookings' pushes
# and emails in one message) also pushes the bundle's other rows of the same account, at
# most this many in all, one after the other under its one mailbox slot and access token,
# claimed in one statement: what each push would otherwise do for itself (take and give
# back a slot, claim, read and decrypt the sign-in) is done once for them. It starts no
# further row after PUSH_BATCH_WINDOW seconds (as a bundle starts no item after
# ``BUNDLE_INLINE_WINDOW``), nor once its caller's deadline passed (``ops.deadline``: as
# the bundle's leading pushes stop), nor after a row that did not go through: the rows
# left are given back unattempted, and their own items push them.
PUSH_BATCH_MAX = 8
PUSH_BATCH_WINDOW = 5.0

# The rows pushed by a companion in the bundle being run: each one's own item finds it
# here (once) and has nothing to do. None outside a bundle (``pushes_in_bundle``).
_pushed_in_bundle: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar(
    "pushed_in_bundle", default=None
)


@contextmanager
def pushes_in_bundle() -> Iterator[None]:
    """Around a bundle's run (``outbox.dispatch.bundle_around``): its push items may push
    their companions (``PUSH_BATCH_MAX``) and skip those pushed so."""
    token = _pushed_in_bundle.set(set())
    try:
        yield
    finally:
        _pushed_in_bundle.reset(token)


def pushed_event_push(*, pushed_event_id: int, now: datetime | None = None) -> Outcome:
    """Reconcile one row with its calendar (and, in a bundle, its companions of the same
    account). Never called inside a web request; idempotent."""
    now = now or timezone.now()
    leases_give_back_owed()
    done = _pushed_in_bundle.get()
    if done is not None and pushed_event_id in done:
        # Pushed by a companion of this bundle since the message was sent (which requeued
        # it itself if it had to go again): this item's work is done.
        done.discard(pushed_event_id)
        return Outcome(Status.SKIPPED)
    found = query_objects(_row_with_connection, pushed_event_id)
    row = found[0] if found else None
    if row is None or row.state != PushState.PENDING:
        return Outcome(Status.SKIPPED)
    if row.next_attempt_at and row.next_attempt_at > now + DUE_TOLERANCE:
        return Outcome(Status.SKIPPED)  # an early duplicate; its own retry is on its way
    connection = row.calendar.connection
    if not connection.is_connected:
        PushedEvent.objects.filter(pk=row.pk, state=PushState.PENDING).update(
            state=PushState.WAITING, updated_at=now
        )
        return Outcome(Status.WAITING)
    companions = _companions(row.pk) if done is not None else []
    try:
        with connection_call_slot(connection=connection):
            if companions:
                return _push_batch(row_ids=[row.pk, *companions], connection=connection)
            return _push_claimed(row_id=row.pk, connection=connection)
    except MailboxBusy:
        delay = busy_mailbox_delay()
        PushedEvent.objects.filter(pk=row.pk).update(queued_at=now + timedelta(seconds=delay))
        return Outcome(Status.BUSY, retry_in=delay)


@reads(PushedEvent)
def _row_with_connection(pk: int) -> QuerySet:
    return PushedEvent.objects.select_related("calendar__connection").filter(pk=pk)


def _companions(row_id: int) -> list[int]:
    """The rows this bundle asks to push after ``row_id`` (whose items have not run yet),
    ``PUSH_BATCH_MAX`` in all with it; none when it is not one of the bundle's own."""
    ids = [args[0] for args in dispatch.bundle_items(PUSH_TASK) if args]
    if row_id not in ids:
        return []
    after = ids[ids.index(row_id) + 1 :]
    return [pk for pk in dict.fromkeys(after) if pk != row_id][: PUSH_BATCH_MAX - 1]


def _push_claimed(*, row_id: int, connection: CalendarConnection) -> Outcome:
    claim = claim_take(
        # The connection comes with the claimed row: read after the claim was taken (so
        # its tokens are as fresh as a read of their own), in the same query.
        items=PushedEvent.objects.select_related("calendar__connection"),
        pk=row_id,
        lease_seconds=settings.CALENDAR_TASK_LEASE,
    )
    if claim is None:
        return Outcome(Status.SKIPPED)  # another worker has it, or it is settled or not due
    return _push_counted(claim=claim, held=HeldToken())


def _push_batch(*, row_ids: list[int], connection: CalendarConnection) -> Outcome:
    """Push the rows ``row_ids`` of ``connection``'s account (those that are claimable) one
    after the other, with one claim statement and one access token; the first row's
    outcome. Each row's outcome is its own: a row to go again is queued again here."""
    started = time.monotonic()
    claims = deque(
        claims_take(
            items=PushedEvent.objects.select_related("calendar__connection"),
            pks=row_ids,
            lease_seconds=settings.CALENDAR_TASK_LEASE,
            within=("calendar__connection", connection.pk),
        )
    )
    first = Outcome(Status.SKIPPED)  # another worker has it, or it is settled or not due
    held = HeldToken()
    # Each companion's lines are logged under the request that asked for it.
    askers = {
        args[0]: asker for args, asker in dispatch.bundle_items_asked(PUSH_TASK) if args and asker
    }
    done = _pushed_in_bundle.get()
    done = set() if done is None else done  # (an empty set is the bundle's too)
    try:
        while claims:
            if claims[0].item.pk != row_ids[0] and not _batch_goes_on(started):
                break
            claim = claims.popleft()
            asker = askers.get(claim.item.pk) if claim.item.pk != row_ids[0] else None
            with log_context_bound(request_id=asker):
                outcome = _push_counted(claim=claim, held=held)
            if claim.item.pk == row_ids[0]:
                first = outcome
            else:
                done.add(claim.item.pk)
                if outcome.retry_in is not None:
                    push_enqueue(claim.item.pk, countdown=outcome.retry_in)
            if outcome.status != Status.SYNCED:
                break  # the account may be throttled, or its sign-in gone: no more calls
    finally:
        for claim in claims:  # not attempted: as before the claim, for its own item
            release = partial(claim.release, attempts=claim.item.attempts - 1)
            lease_give_back(what=f"push row {claim.item.pk}", release=release)
    return first


def _batch_goes_on(started: float) -> bool:
    """Whether a batch may start another row (``PUSH_BATCH_WINDOW``, the deadline)."""
    if seconds_left() == 0:
        return False
    return time.monotonic() - started < PUSH_BATCH_WINDOW


def _push_counted(*, claim: Claim, held: HeldToken) -> Outcome:
    row_id = claim.item.pk
    try:
        outcome = _push_with_claim(claim=claim, held=held)
    except DbError:
        # Nothing could be recorded: give the row back (now or at the next connection)
        # for the sweeper to queue again; a retried create is answered with the event
        # this attempt may have made (transactionId).
        lease_give_back(what=f"push row {row_id}", release=partial(claim.release, queued_at=None))
        push_attempt_count(result="error")
        raise
    push_attempt_count(result=outcome.status)
    return outcome


def _push_with_claim(*, claim: Claim, held: HeldToken) -> Outcome:
    work = _Work(claim=claim, connection=claim.item.calendar.connection, held=held)
    held.still_for(work.connection)  # a token kept from another sign-in is let go
    if work.row.attempts > settings.CALENDAR_PUSH_MAX_ATTEMPTS:
        # Earlier attempts died without recording anything (e.g. a worker killed each time).
        return _give_up(work, UNFINISHED)
    try:
        action = _reconcile(work)
    except LostClaim:
        logger.warning("%s: lost its claim to another worker; stopping", work.describe())
        return Outcome(Status.LOST)
    except ProviderError as error:
        return _record_failure(work, error)
    except crypto.TokenKeyError:
        error = ProviderError("The stored sign-in cannot be decrypted.", code="token_key")
        return _record_failure(work, error)
    return _record_success(work, action)


# --- reconciling ------------------------------------------------------------------------------


def _reconcile(work: _Work) -> str:
    """Make the calendar match the row; returns what was done, for the log."""
    if work.row.wanted:
        return _make_exist(work)
    return _make_gone(work)


def _call(work: _Work, action):
    fresh, work.connection_fresh = work.connection_fresh, False
    return with_provider(connection=work.connection, action=action, fresh=fresh, held=work.held)


def _reminder(work: _Work) -> int | None:
    return work.connection.default_reminder_minutes


def _make_exist(work: _Work) -> str:
    row = work.row
    if row.remote_id:
        try:
            _remember_join_link(work, _update(work, row.remote_id))
            return "updated"
        except EventGone:
            # Deleted in the calendar (by the host): the booking still stands, so the
            # event is made again, under a fresh key (the old one belongs to the old event).
            logger.info(
                "%s: the event was deleted in the calendar; making it again", work.describe()
            )
            _new_key(work)
    created, reused_key = _create(work)
    _remember_join_link(work, created, remote_id=created.remote_id)  # one write for both
    sent = work.row.create_request
    if reused_key or (sent["event"], sent["reminder_minutes"]) != (row.payload, _reminder(work)):
        _remember_join_link(work, _update(work, created.remote_id))
        return "created and updated"
    return "created"


def _remember_join_link(work: _Work, event: RemoteEvent | None, **also) -> None:
    """Keep the online meeting's join link of the row's event (Setup → Meetings), in the
    same write as the fields ``also`` (the created event's id), and say so
    (``join_link_ready``) when it is new: the first one, or another one because the event
    was made again (a new event gets a new meeting).

    The stored link is always the link of the event the row knows: ``_new_key`` forgets
    it with the event, so an event made again without a meeting leaves none behind. An
    event that asks for no meeting (a copy for the host's records, or a booking whose
    place is no longer online) has none, whatever the provider still answers (an event's
    meeting may outlive a later ``isOnlineMeeting: false``). An answer without a link
    (an update answered with no body) says nothing about the event's meeting, so the link
    already known stays."""
    url = event.online_meeting_url if event is not None else ""
    # Only web links: the page shows it as a link, so nothing like "javascript:" is kept.
    url = url[:2000] if url.startswith(("https://", "http://")) else ""
    if not _asks_for_meeting(work.row.payload):
        url = ""
    elif not url:
        url = work.row.online_meeting_url
    if url != work.row.online_meeting_url:
        work.save_later(online_meeting_url=url, **also)
        if url:
            work.tell_later(signals.join_link_ready, url)
    elif also:
        work.save_later(**also)
    if not url:
        _join_link_dropped(work)


def _join_link_dropped(work: _Work) -> None:
    """Say (``join_link_dropped``, once per push) that the link the row had when claimed is
    forgotten: its event was made again without a meeting, or deleted."""
    if work.link_known and not work.row.online_meeting_url:
        url, work.link_known = work.link_known, ""
        work.tell_later(signals.join_link_dropped, url)


def _asks_for_meeting(payload: dict) -> bool:
    return EventDescription.from_json(payload).online_meeting


def _create(work: _Work) -> tuple[RemoteEvent, bool]:
    """Create the event (or find the one an earlier attempt made); (event, needs an update)."""
    try:
        if work.row.create_request is None:
            return _send_new_create(work), False
        # An earlier attempt sent this very request: the provider answers with what it made.
        return _send_create(work), False
    except DuplicateKey:
        pass
    except CreateConflict:
        # Not a refusal of the key: an earlier sending may have made the event (or be
        # making it). If it is there, it is ours; if not, the same request is tried again
        # later (the conflict is retried, with the same key).
        found = _find(work)
        if found is None:
            raise
        return found, True
    # The key was used for a different request (an older create body, e.g. from before a
    # reschedule, or an event deleted since): find what it made.
    found = _find(work)
    if found is not None:
        return found, True
    logger.info("%s: the event made with this key is gone; making it again", work.describe())
    _new_key(work)
    return _send_new_create(work), False


def _send_new_create(work: _Work) -> RemoteEvent:
    """Write the create request down, then send it for the first time."""
    work.save(create_request={"event": work.row.payload, "reminder_minutes": _reminder(work)})
    try:
        return _send_create(work)
    except ProviderError as error:
        if error.refused and not isinstance(error, DuplicateKey):
            # The provider answered no to its first sending: nothing was made with the key.
            # So a cancel has nothing to look for, and the next try sends the booking as it is.
            work.save(create_request=None)
        raise


def _send_create(work: _Work) -> RemoteEvent:
    sent = work.row.create_request
    calendar_id = work.row.calendar.remote_id
    transaction_id = str(work.row.transaction_id)

    def create(provider: CalendarProvider, token: str) -> RemoteEvent:
        return provider.create_event(
            access_token=token,
            calendar_id=calendar_id,
            event=EventDescription.from_json(sent["event"]),
            reminder_minutes=sent["reminder_minutes"],
            transaction_id=transaction_id,
        )

    return _call(work, create)


def _update(work: _Work, remote_id: str) -> RemoteEvent | None:
    event = EventDescription.from_json(work.row.payload)
    reminder = _reminder(work)
    calendar_id = work.row.calendar.remote_id

    def update(provider: CalendarProvider, token: str) -> RemoteEvent:
        return provider.update_event(
            access_token=token,
            calendar_id=calendar_id,
            remote_id=remote_id,
            event=event,
            reminder_minutes=reminder,
        )

    return _call(work, update)


def _find(work: _Work) -> RemoteEvent | None:
    """The event our earlier create made with the row's key, looked up where it was sent for."""
    sent = EventDescription.from_json(work.row.create_request["event"])
    calendar_id = work.row.calendar.remote_id
    transaction_id = str(work.row.transaction_id)

    def find(provider: CalendarProvider, token: str) -> RemoteEvent | None:
        return provider.find_event(
            access_token=token,
            calendar_id=calendar_id,
            transaction_id=transaction_id,
            start=sent.start - LOOKUP_MARGIN,
            end=sent.end + LOOKUP_MARGIN,
        )

    return _call(work, find)


def _delete(work: _Work, remote_id: str) -> None:
    calendar_id = work.row.calendar.remote_id

    def delete(provider: CalendarProvider, token: str) -> None:
        provider.delete_event(access_token=token, calendar_id=calendar_id, remote_id=remote_id)

    _call(work, delete)


def _make_gone(work: _Work) -> str:
    row = work.row
    if not row.remote_id and row.create_request is not None:
        # A create was sent but its answer never came back: it may have made the event.
        found = _find_lost(work)
        if found is None:
            # Nothing where it was sent: done, as far as anyone can see. But whether the
            # create made an event is still not known (the host may have moved it), so the
            # key and the request stay: should the event be wanted here again, the same
            # request brings back what that create made instead of a second event.
            return "checked: not in the calendar"
        # Known from now on: a retry (after a failed delete) deletes it by its id.
        work.save(remote_id=found.remote_id)
    if not row.remote_id:
        return "nothing to do"
    _delete(work, row.remote_id)
    _new_key(work)
    return "deleted"


def _find_lost(work: _Work) -> RemoteEvent | None:
    """The event a lost create made, if it is where it was sent; None if its calendar is gone."""
    try:
        return _find(work)
    except CalendarGone:
        pass
    # The calendar itself was deleted (in Outlook): every event in it went with it.
    logger.info("%s: the calendar is gone; so is the event", work.describe())
    return None


def _new_key(work: _Work) -> None:
    """Forget the remote event, its key and its meeting's link: the next create is a new
    event with a new key (and a new meeting, if it asks for one). A link forgotten is
    told at once (``_join_link_dropped``): should the create that follows fail, its retry
    no longer knows the link."""
    work.save(remote_id="", create_request=None, transaction_id=uuid.uuid4(), online_meeting_url="")
    _join_link_dropped(work)


# --- recording the outcome ----------------------------------------------------------------------


def _record_success(work: _Work, action: str) -> Outcome:
    row = work.row
    version = row.version
    if work.settle(
        state=PushState.SYNCED,
        unchanged={"version": version},
        synced_version=version,
        attempts=0,
        next_attempt_at=None,
        last_error="",
    ):
        logger.info("%s: %s (attempt %s)", work.describe(), action, row.attempts)
        return Outcome(Status.SYNCED)
    # The booking changed while we worked: what we did is recorded; push the new version.
    logger.info("%s: %s; a newer version is waiting", work.describe(), action)
    return Outcome(Status.REQUEUE, retry_in=0)


def _record_failure(work: _Work, error: ProviderError) -> Outcome:
    row = work.row
    mailbox_throttled(connection=work.connection, error=error)  # the mailbox's reads wait too
    text = error_stored(error, provider_key=work.connection.provider)
    if error.permanent and not _still_connected(work):
        # The sign-in is gone: the connection was disconnected (its pending rows now wait
        # for a reconnect) and the host emailed once.
        work.release(last_error=text)
        logger.warning("%s: waits for a reconnect (%s)", work.describe(), error.code)
        return Outcome(Status.WAITING)
    # Refused for good while the account stays connected (say, a stored sign-in that cannot
    # be read): not retried, it fails in the host's words. Left pending, it would be queued
    # again and again until it gave up for attempts that "never finished".
    if error.retryable and row.attempts < settings.CALENDAR_PUSH_MAX_ATTEMPTS:
        delay = retry_delay(attempt=row.attempts, retry_after=error.retry_after)
        if not work.retry_later(delay=delay, error=text, unchanged={"version": row.version}):
            return Outcome(Status.REQUEUE, retry_in=0)
        logger.info(
            "%s: attempt %s failed (%s %s); retrying in %.1fs",
            work.describe(),
            row.attempts,
            error.status or "",
            error.code,
            delay,
        )
        return Outcome(Status.RETRY, retry_in=delay)
    return _give_up(work, text)


def _still_connected(work: _Work) -> bool:
    return CalendarConnection.objects.live().filter(pk=work.connection.pk).exists()


def _give_up(work: _Work, text: str) -> Outcome:
    row = work.row
    if not work.settle(
        state=PushState.FAILED,
        unchanged={"version": row.version},
        next_attempt_at=None,
        last_error=text[:500],
    ):
        return Outcome(Status.REQUEUE, retry_in=0)
    words = error_shown(text)
    logger.warning("%s: failed after %s attempts: %s", work.describe(), row.attempts, words)
    return Outcome(Status.FAILED)
