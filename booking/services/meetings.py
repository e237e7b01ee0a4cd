"""The host's actions on a meeting (Setup → Meetings): cancel, ask to reschedule, no-show.

Cancelling reuses ``booking_cancel`` with the host as actor, so the invitee's email
(with the ``.ics`` CANCEL), the Outlook event's removal through the outbox and the
freed slot are exactly what an invitee's own cancel does.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from booking.email_outbox import reschedule_request_add
from booking.events import Actor
from booking.history import NO_SHOW, NO_SHOW_UNDONE, booking_change_record
from booking.models import Booking, BookingStatus
from booking.services.bookings import BookingNotChangeable, booking_cancel, booking_check_changeable
from booking.services.locking import host_lock


class AlreadyCancelled(BookingNotChangeable):
    """Cancelled before (by either side): nothing more to do."""


def meeting_cancel(*, booking: Booking, reason: str = "", now: datetime | None = None) -> Booking:
    """Cancel as the host; ``reason`` goes to the invitee. Idempotent: a second call raises
    ``AlreadyCancelled`` and changes nothing. A meeting that started raises
    ``BookingNotChangeable``."""
    now = now or timezone.now()
    if Booking.objects.filter(pk=booking.pk, status=BookingStatus.CANCELLED).exists():
        raise AlreadyCancelled(gettext_noop("This meeting is already cancelled."))
    try:
        return booking_cancel(booking=booking, actor=Actor.HOST, reason=reason, now=now)
    except BookingNotChangeable:
        # Cancelled by the invitee a moment ago, or started.
        if Booking.objects.filter(pk=booking.pk, status=BookingStatus.CANCELLED).exists():
            raise AlreadyCancelled(gettext_noop("This meeting is already cancelled.")) from None
        raise


def meeting_ask_reschedule(
    *, booking: Booking, note: str = "", now: datetime | None = None
) -> None:
    """Email the invitee their reschedule link and ``note``; the booking stays as it is.

    Raises ``BookingNotChangeable`` for a cancelled or started meeting.
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        booking_check_changeable(booking=booking, now=now)
        reschedule_request_add(booking=booking, note=note.strip(), now=now)


def meeting_set_no_show(*, booking: Booking, no_show: bool, now: datetime | None = None) -> Booking:
    """Mark (or unmark) a confirmed meeting that has started as a no-show; idempotent.

    Raises ``BookingNotChangeable`` for a cancelled meeting or one still to come.
    """
    now = now or timezone.now()
    with transaction.atomic():
        host_lock(booking.host_id)
        booking = Booking.objects.get(pk=booking.pk)
        if not booking.is_confirmed:
            raise BookingNotChangeable(gettext_noop("This meeting was cancelled."))
        if booking.start > now:
            raise BookingNotChangeable(
                gettext_noop("A meeting can be marked a no-show once it has started.")
            )
        if (booking.no_show_at is not None) == no_show:
            return booking
        booking.no_show_at = now if no_show else None
        booking.save(update_fields=["no_show_at", "updated_at"])
        booking_change_record(
            booking=booking, kind=NO_SHOW if no_show else NO_SHOW_UNDONE, actor=Actor.HOST, now=now
        )
    return booking
