"""A booking's history for Setup → Meetings: who made, moved or cancelled it, and when.

``on_booking_event`` is a ``booking_event_recorded`` receiver: the line is written in
the booking's own transaction, so the history never misses a change nor shows one
that was rolled back.
"""

from __future__ import annotations

from datetime import datetime

from booking.events import Actor, BookingEvent, BookingEventKind
from booking.models import Booking, BookingChange
from ops.compiled_inserts import insert_values

NO_SHOW = "no_show"
NO_SHOW_UNDONE = "no_show_undone"


def on_booking_event(sender, *, event: BookingEvent, **kwargs) -> None:
    booking = event.booking or Booking.objects.only(
        "start", "rescheduled_from_start", "cancel_reason"
    ).get(pk=event.booking_id)
    moved = event.kind == BookingEventKind.RESCHEDULED
    # The line as plain values (no instance: nothing reads it back in the request).
    insert_values(
        BookingChange,
        [
            {
                "booking_id": event.booking_id,
                "kind": str(event.kind),
                "actor": str(event.actor),
                "version": event.version,
                "start": booking.start,
                "previous_start": booking.rescheduled_from_start if moved else None,
                "reason": booking.cancel_reason if event.kind == BookingEventKind.CANCELLED else "",
                "occurred_at": event.occurred_at,
            }
        ],
    )


def booking_change_record(*, booking: Booking, kind: str, actor: Actor, now: datetime) -> None:
    """A line for a change that is not a booking event (a no-show mark and its undo)."""
    BookingChange.objects.create(
        booking=booking,
        kind=kind,
        actor=actor,
        version=booking.sequence,
        start=booking.start,
        occurred_at=now,
    )
