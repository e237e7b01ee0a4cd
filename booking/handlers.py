"""Booking's answers to calendar events (registered in ``BookingConfig.ready``).

``calendars`` sends neutral signals and never imports ``booking``. Busy horizons
follow these changes by themselves (``booking.services.horizons``).
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from booking.models import Booking, BookingStatus
from booking.services.calendar_events import bookings_remirror
from booking.services.connections import pages_assign_main_calendar
from calendars.models import CalendarConnection
from ops.compiled_queries import query_rows, reads

log = logging.getLogger(__name__)


def on_calendars_changed(sender, *, connection: CalendarConnection, **kwargs) -> None:
    """Pages without a usable main booking calendar get the connection's default one."""
    with transaction.atomic():
        pages_assign_main_calendar(connection=connection)


def on_connection_established(
    sender, *, connection: CalendarConnection, new_account: bool = False, **kwargs
) -> None:
    """As above, and every future booking is asked for in the (new) main booking calendar.

    For a different account that pushes them all there; after reconnecting the same
    account it adds the bookings made while it was disconnected (the rest are unchanged).
    """
    with transaction.atomic():
        pages = pages_assign_main_calendar(connection=connection)
        count = bookings_remirror(host=connection.host)
    log.info(
        "connection %s (new account: %s): main calendar set on %d page(s), "
        "%d booking(s) re-mirrored",
        connection.pk,
        new_account,
        len(pages),
        count,
    )


def on_member_removed(sender, *, membership, **kwargs) -> None:
    """A removed member's pages stop taking bookings; bookings already made stay."""
    from booking.services.teams import member_pages_close

    closed = member_pages_close(membership=membership)
    log.info("membership %s removed: %d page(s) closed", membership.pk, closed)


def on_organization_leaving(sender, *, user, old, new, **kwargs) -> None:
    """The only member of ``old`` joins ``new``: its pages (their personal pages and the
    team pages only they ran) follow, with their bookings."""
    from booking.services.pages import pages_move_organization

    moved = pages_move_organization(user=user, old=old, new=new)
    log.info("user %s joined organization %s: %d page(s) moved", user.pk, new.pk, moved)


def on_join_link_ready(sender, *, source: str, url: str, **kwargs) -> None:
    """The calendar made an online meeting, or a new one (its event was made again): email
    the invitee the booking's join link (``join_url_for``, whichever event's ``url`` came)
    and announce it (``meeting_link_recorded``) in the same transaction, once per link,
    when the invitee has none yet or theirs is gone (``join_link_email_add``)."""
    from booking.email_outbox import JOIN_LINK_CHANGE, join_link_email_add
    from booking.events import meeting_link_recorded
    from booking.reminders import join_urls_live

    now = timezone.now()
    with transaction.atomic():
        state = _booking_ahead(source, now)
        if state is None:
            return
        booking_id, sequence, host_id = state
        live = join_urls_live(source=source)
        if not live:
            return  # made again since without a meeting, or no longer wanted
        email = join_link_email_add(
            booking_id=booking_id, version=sequence, url=live[0], live_urls=live, now=now
        )
        if email is None:
            return  # already announced, or the invitee's link still works
        # ``email``: the join-link email, or the confirmation that carries the link.
        meeting_link_recorded.send(
            sender=Booking,
            booking_id=booking_id,
            booking_uuid=uuid.UUID(source.partition(":")[2]),
            version=sequence,
            host_id=host_id,
            occurred_at=now,
            replaced=email.kind == JOIN_LINK_CHANGE,
        )


def on_join_link_dropped(sender, *, source: str, url: str, **kwargs) -> None:
    """The calendar forgot the join link ``url`` of a booking's event: tell the invitee
    once (``join_link_drop_email_add``) when they had been given that link and the booking
    is left without one: no event holds a meeting, and none is still to be made with one
    (a move to another calendar brings its new link instead: ``on_join_link_ready``)."""
    from booking.email_outbox import join_link_drop_email_add
    from booking.reminders import join_urls_live
    from calendars.selectors import meeting_still_coming

    now = timezone.now()
    with transaction.atomic():
        state = _booking_ahead(source, now)
        if state is None:
            return
        booking_id, sequence, _host_id = state
        if join_urls_live(source=source) or meeting_still_coming(source=source):
            return
        join_link_drop_email_add(booking_id=booking_id, version=sequence, url=url, now=now)


def _booking_ahead(source: str, now) -> tuple[int, int, int] | None:
    """The id, version and host of the booking an outbox ``source`` names, when it is
    confirmed and not over yet; else None."""
    prefix, _, key = source.partition(":")
    if prefix != "booking" or not key:
        return None
    rows = query_rows(_booking_state, uuid.UUID(key))
    if not rows:
        return None
    booking_id, status, end, sequence, host_id = rows[0]
    if status != BookingStatus.CONFIRMED or end <= now:
        return None
    return booking_id, sequence, host_id


@reads(Booking)
def _booking_state(key: uuid.UUID) -> QuerySet:
    return Booking.objects.filter(uuid=key).values_list(
        "pk", "status", "end", "sequence", "host_id"
    )
