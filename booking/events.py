"""Booking's domain events: confirmed, rescheduled, cancelled — sent from one place.

``booking_event_emit`` is the only sender; booking's services call it inside the
transaction that changes the booking. Consumers subscribe to one of two signals,
from their own ``AppConfig.ready`` (booking never imports its consumers):

- ``booking_event_recorded`` is sent *inside* that transaction. For consumers that
  must not lose an event: they write their own outbox row there (booking emails
  today; webhook deliveries and invitee reminders next), so the row exists exactly
  when the change does. A receiver that raises undoes the booking change: keep
  them to writing rows.
- ``booking_event_committed`` is sent *after* the transaction committed (never for
  a rollback), robustly: a failing receiver is logged and never reaches the
  invitee. For consumers that only observe (metrics, caches).

A third signal, ``booking_event_preparing``, lets a consumer read before the host's lock
is taken what it would otherwise read under it: a service that is about to make a change
calls ``booking_event_prepare`` first (outside the transaction), and passes what it
returns to ``booking_event_emit``; each receiver's answer reaches it again as
``event.prepared_by(receiver)``. Preparing is an optimization only: a receiver must
handle an event that was not prepared (reading then what it needs), and may trust what
it read ahead only where a change made meanwhile could as well have come just after the
event. Webhook deliveries use it to learn, before the lock, whether any endpoint wants
the event (an endpoint saved meanwhile starts with the next one).

Both signals pass ``event``, a :class:`BookingEvent`: ids and the booking's version,
which serialize into a webhook or a task as they are, and ``event.booking``, the
booking as its transaction wrote it (with its page and host), which does not. A
receiver of ``booking_event_recorded`` reads the booking from there rather than
loading it again (it runs in the booking's transaction, while the host's lock is held or,
for a new booking, just before it is taken), and never changes it.

``meeting_link_recorded`` is not a change of the booking: the calendar made its online
meeting, or a new one in place of the one the invitee had, and the join-link email's row
was written (``booking.handlers.on_join_link_ready``), once per link (the database holds
that row to it). It is sent inside that row's transaction, only when the row was
written, so a consumer's own outbox row shares its once-only guarantee. Arguments:
``booking_id``, ``booking_uuid``, ``version`` (the booking's ``sequence`` then),
``host_id``, ``occurred_at``, ``replaced`` (True for a new link in place of an earlier
one). Webhook deliveries of ``booking.meeting_link_ready`` are written there.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)


class BookingEventKind(StrEnum):
    CONFIRMED = "confirmed"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"


class Actor(StrEnum):
    """Who made the change."""

    INVITEE = "invitee"  # through the public booking page or the invitee's links
    HOST = "host"  # from Setup
    SYSTEM = "system"  # by ScheduleOnce itself (e.g. a page that was deleted)


@dataclass(frozen=True)
class BookingEvent:
    kind: BookingEventKind
    actor: Actor
    booking_id: int
    booking_uuid: uuid.UUID
    # The booking's ``sequence`` after the change (0 when confirmed, +1 per change):
    # consumers order events and drop stale ones by it.
    version: int
    host_id: int
    page_id: int | None
    occurred_at: datetime
    # A round-robin meeting moved to another member (its own could no longer take it):
    # who hosted it before the move.
    previous_host_id: int | None = None
    # The booking as written (not serialized, not compared): see the module's docstring.
    booking: Any = field(default=None, compare=False, repr=False)
    # What the ``booking_event_preparing`` receivers answered, by receiver (not serialized).
    prepared: Mapping[Callable, Any] = field(default_factory=dict, compare=False, repr=False)

    def prepared_by(self, receiver: Callable) -> Any:
        """What ``receiver`` answered when the event was prepared; None if it was not."""
        return self.prepared.get(receiver)

    def to_json(self) -> dict:
        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("booking", "prepared")
        }
        data["booking_uuid"] = str(self.booking_uuid)
        data["occurred_at"] = self.occurred_at.isoformat()
        return data


booking_event_preparing = Signal()
booking_event_recorded = Signal()
booking_event_committed = Signal()
meeting_link_recorded = Signal()


@dataclass(frozen=True)
class EventPreparation:
    """What the ``booking_event_preparing`` receivers answered (``booking_event_prepare``)."""

    kind: BookingEventKind
    host_ids: tuple[int, ...]
    answers: Mapping[Callable, Any]


def booking_event_prepare(*, kind: BookingEventKind, host_ids: Sequence[int]) -> EventPreparation:
    """Ask the consumers to read ahead for an event of ``kind`` about the bookings of
    ``host_ids`` (the host, then anyone attending); call before taking the host's lock."""
    kind = BookingEventKind(kind)
    host_ids = tuple(host_ids)
    answers = booking_event_preparing.send(sender=BookingEvent, kind=kind, host_ids=host_ids)
    return EventPreparation(kind=kind, host_ids=host_ids, answers=dict(answers))


def booking_event_emit(
    *,
    booking,
    kind: BookingEventKind,
    actor: Actor,
    now: datetime,
    prepared: EventPreparation | None = None,
    previous_host_id: int | None = None,
) -> BookingEvent:
    """Announce a change of ``booking``; call inside the transaction that made it.

    Receivers of ``booking_event_recorded`` run now, in the transaction; those of
    ``booking_event_committed`` once it commits. ``prepared``: from
    ``booking_event_prepare`` for this very event (same kind, the booking's host first);
    anything else is not passed on. ``previous_host_id``: a move gave the meeting to
    another host, and this one had it.
    """
    event = BookingEvent(
        kind=BookingEventKind(kind),
        actor=Actor(actor),
        booking_id=booking.pk,
        booking_uuid=booking.uuid,
        version=booking.sequence,
        host_id=booking.host_id,
        page_id=booking.page_id,
        occurred_at=now,
        previous_host_id=previous_host_id,
        booking=booking,
        prepared=_answers_for(prepared, kind=kind, host_id=booking.host_id),
    )
    booking_event_recorded.send(sender=BookingEvent, event=event)
    transaction.on_commit(lambda: _announce_committed(event))
    return event


def _answers_for(
    prepared: EventPreparation | None, *, kind: BookingEventKind, host_id: int
) -> Mapping[Callable, Any]:
    if prepared is None or prepared.kind != kind or prepared.host_ids[:1] != (host_id,):
        return {}
    return prepared.answers


def _announce_committed(event: BookingEvent) -> None:
    for receiver, result in booking_event_committed.send_robust(sender=BookingEvent, event=event):
        if isinstance(result, Exception):
            log.error(
                "booking event %s of booking %s: receiver %s failed (%s)",
                event.kind,
                event.booking_id,
                getattr(receiver, "__qualname__", receiver),
                type(result).__name__,
            )
