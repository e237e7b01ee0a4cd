"""Neutral signals other apps listen to; calendars never imports its listeners.

Listeners connect in their own ``AppConfig.ready`` (booking does for the first two).

Sent inside the transaction that made the change (a listener's writes commit or roll
back with it):

``connection_established``: a host connected or reconnected and the calendar list
was imported. Arguments: ``connection`` (CalendarConnection), ``new_account`` (True
when it is not the account the host had before, so every future booking must be
pushed to the new main booking calendar).

``calendars_changed``: a host's list of calendars changed (import or "Refresh
calendar list"). Argument: ``connection``.

``connection_disconnected``: ``connection_id``, ``host_id``, ``provider`` (a key of
``calendars.providers.PROVIDERS``), ``reason`` (a ``DisconnectReason`` value: the
host, expiry, or the provider refused the sign-in).

``connection_reconnected``: ``connection_id``, ``host_id``, ``provider``: an account
that was disconnected is connected again (the same account; connecting another one
is ``connection_established`` with ``new_account``).

These two carry ids and words, not model instances, so a listener can put them in an
outbox row as they are: outgoing webhooks write their ``calendar.disconnected`` and
``calendar.reconnected`` deliveries here, so the rows commit with the change and a
crash right after the commit loses none (a listener that must only act on committed
state defers itself, as ``booking.availability_cache`` does).

Sent once the change committed (never for a rollback), robustly: a failing listener
is logged and never undoes the change:

``busy_time_changed``: ``calendar_id``, ``connection_id``, ``host_id``: the sync
stored different busy time for that calendar (offered slots may have changed).

``join_link_ready``: ``source`` (the pushed event's outbox key, e.g. ``booking:<uuid>``),
``url``: the provider made an online meeting for a pushed event and answered with its
join link, for the first time or a new one (the event was made again, e.g. after the
host deleted it in Outlook). Booking emails it to the invitee when it is news to them.

``join_link_dropped``: ``source``, ``url``: a push forgot the join link it had stored for
a pushed event: the event was made again without an online meeting (the calendar can no
longer make one, or the event no longer asks for one), or it was deleted (the booking
moved to another calendar). Booking tells the invitee once when the booking is left
without a link.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

connection_established = Signal()
calendars_changed = Signal()

connection_disconnected = Signal()
connection_reconnected = Signal()
busy_time_changed = Signal()
join_link_ready = Signal()
join_link_dropped = Signal()


def send_after_commit(signal: Signal, **arguments) -> None:
    """Send ``signal`` with ``arguments`` once the current transaction commits."""
    transaction.on_commit(lambda: _send_robust(signal, arguments))


def _send_robust(signal: Signal, arguments: dict) -> None:
    for receiver, result in signal.send_robust(sender=None, **arguments):
        if isinstance(result, Exception):
            logger.error(
                "calendar signal listener %s failed (%s)",
                getattr(receiver, "__qualname__", receiver),
                type(result).__name__,
            )
