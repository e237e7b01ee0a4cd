"""Connecting, reconnecting and disconnecting a host's calendar account."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from calendars import crypto, notifications
from calendars.constants import REMINDER_MINUTES
from calendars.dispatch import sync_enqueue_on_commit
from calendars.models import (
    CalendarConnection,
    CalendarSyncState,
    ConnectionStatus,
    DisconnectReason,
    PushedEvent,
    PushState,
)
from calendars.providers import CalendarProvider, get_provider
from calendars.providers.base import CalendarList, Grant, SignIn
from calendars.selectors import connection_live_for
from calendars.services.calendar_store import calendars_apply
from calendars.services.push_queue import pushes_wake_for_connection
from calendars.services.subscription_farewell import subscription_forget
from calendars.signals import (
    calendars_changed,
    connection_disconnected,
    connection_established,
    connection_reconnected,
)

logger = logging.getLogger(__name__)


class ConnectionConflict(Exception):
    """The host already has another live calendar connection."""


@dataclass(frozen=True)
class Connected:
    connection: CalendarConnection
    new_account: bool
    calendars: int


def refresh_expiry(*, provider: CalendarProvider, issued_at: datetime) -> datetime | None:
    """When a sign-in refreshed at ``issued_at`` expires unused (None: it does not)."""
    lifetime = provider.refresh_token_lifetime
    return issued_at + lifetime if lifetime is not None else None


def _conflict_message(live: CalendarConnection) -> str:
    provider = get_provider(live.provider).name
    return _(
        "You are connected to %(provider)s as %(email)s. A host can have one calendar "
        "connection: disconnect it first, then connect the other account."
    ) % {"provider": provider, "email": live.account_email}


def connection_start(
    *, host, provider_key: str, redirect_uri: str, reconnect: bool = False
) -> SignIn:
    """Start a sign-in with ``provider_key``; refuses while another account is connected.

    ``reconnect`` allows signing in again to the provider of the live connection (to
    renew it); whether it is the same account is checked when the sign-in completes.
    """
    provider = get_provider(provider_key)
    live = connection_live_for(host=host)
    if live is not None and not (reconnect and live.provider == provider_key):
        raise ConnectionConflict(_conflict_message(live))
    hint = live.account_email if live is not None else _last_account_email(host, provider_key)
    return provider.start_sign_in(redirect_uri=redirect_uri, login_hint=hint)


def _last_account_email(host, provider_key: str) -> str:
    last = (
        CalendarConnection.objects.filter(host=host, provider=provider_key)
        .order_by("-disconnected_at")
        .first()
    )
    return last.account_email if last else ""


@sensitive_variables("flow", "response", "grant")
def connection_complete(
    *, host, provider_key: str, flow: dict, response: dict[str, str], now: datetime | None = None
) -> Connected:
    """Finish the sign-in, import the calendars and store the connection.

    All calls to the provider happen first: if any fails (ProviderError) or the host
    is connected to another account (ConnectionConflict), nothing is stored or changed.
    Sends ``calendars_changed`` and ``connection_established``.
    """
    provider = get_provider(provider_key)
    grant = provider.finish_sign_in(flow=flow, response=response)
    calendar_list = provider.list_calendars(access_token=grant.access_token, account=grant.account)
    return _store_connection(
        host=host,
        provider_key=provider_key,
        grant=grant,
        calendar_list=calendar_list,
        now=now or timezone.now(),
    )


def _previous_connection(host) -> CalendarConnection | None:
    live = connection_live_for(host=host)
    if live is not None:
        return live
    return (
        CalendarConnection.objects.filter(host=host, disconnected_at__isnull=False)
        .order_by("-disconnected_at")
        .first()
    )


# What a completed sign-in writes to its connection row.
SIGN_IN_FIELDS = [
    "status",
    "account_email",
    "account_name",
    "account_addresses",
    "token_cache",
    "signed_in_at",
    "refresh_issued_at",
    "refresh_expires_at",
    "expiry_warned_days",
    "disconnected_at",
    "disconnect_reason",
    "last_token_error",
    "updated_at",
]


@sensitive_variables("grant")
@transaction.atomic
def _store_connection(
    *, host, provider_key: str, grant: Grant, calendar_list: CalendarList, now: datetime
) -> Connected:
    account = grant.account
    # Lock the host so two callbacks for one host cannot both connect.
    get_user_model().objects.select_for_update().filter(pk=host.pk).first()
    live = connection_live_for(host=host)
    if live is not None and (live.provider, live.account_id) != (provider_key, account.account_id):
        raise ConnectionConflict(_conflict_message(live))
    previous = _previous_connection(host)
    connection, _ = CalendarConnection.objects.get_or_create(
        host=host,
        provider=provider_key,
        account_id=account.account_id,
        defaults={"account_email": account.email, "status": ConnectionStatus.DISCONNECTED},
    )
    new_account = previous is None or previous.pk != connection.pk
    reconnected = not new_account and connection.status == ConnectionStatus.DISCONNECTED
    connection.status = ConnectionStatus.CONNECTED
    connection.account_email = account.email[:254]
    connection.account_name = account.name[:255]
    connection.account_addresses = sorted({a.lower() for a in account.addresses if a})
    connection.token_cache = crypto.encrypt(grant.token_state)
    connection.signed_in_at = now
    connection.refresh_issued_at = now
    provider = get_provider(provider_key)
    connection.refresh_expires_at = refresh_expiry(provider=provider, issued_at=now)
    connection.expiry_warned_days = None
    connection.disconnected_at = None
    connection.disconnect_reason = ""
    connection.last_token_error = ""
    # Only the sign-in: a worker may hold the sync lease, and the host may have changed
    # the reminder, since the row was read above.
    connection.save(update_fields=SIGN_IN_FIELDS)
    connection.refresh_from_db()
    calendars_apply(connection=connection, calendar_list=calendar_list, now=now)
    # Work that waited for this account (bookings made while it was disconnected) goes out,
    # and its busy time is read at once (both queued when this transaction commits).
    pushes_wake_for_connection(connection_id=connection.pk, now=now)
    if reconnected:
        # Nothing was read or notified while it was disconnected: read in full, not
        # through the old delta links (the sync also makes its change notifications anew).
        CalendarSyncState.objects.filter(calendar__connection=connection).update(delta_link="")
    sync_enqueue_on_commit(connection.pk)
    calendars_changed.send(sender=CalendarConnection, connection=connection)
    connection_established.send(
        sender=CalendarConnection, connection=connection, new_account=new_account
    )
    if reconnected:
        connection_reconnected.send(
            sender=CalendarConnection,
            connection_id=connection.pk,
            host_id=host.pk,
            provider=provider_key,
        )
    logger.info(
        "Host %s connected %s account (connection %s, new account: %s)",
        host.pk,
        provider_key,
        connection.pk,
        new_account,
    )
    return Connected(
        connection=connection,
        new_account=new_account,
        calendars=connection.calendars.filter(is_active=True).count(),
    )


def connection_mark_disconnected(
    *,
    connection: CalendarConnection,
    reason: str,
    now: datetime | None = None,
    condition: Q | None = None,
) -> bool:
    """Mark a connected row disconnected and wipe its tokens; False if it already was.

    ``condition`` is what the caller's decision rests on (the expiry date has passed,
    the refused sign-in is still the current one). It is checked again in the same
    conditional UPDATE, so a reconnect that committed since the caller looked is never
    undone: the row is then left alone and False returned.

    Keeps calendars, bookings and the record of pushed events; pending pushes wait for
    a reconnect. Unless the host asked for it, the host gets one email (after commit).
    Must run inside a transaction (the caller usually holds the row's lock).
    """
    now = now or timezone.now()
    rows = CalendarConnection.objects.live().filter(pk=connection.pk)
    if condition is not None:
        rows = rows.filter(condition)
    if rows.exists():
        # While the tokens are still there: have the change notifications deleted too.
        subscription_forget(connection=connection)
    updated = rows.update(
        status=ConnectionStatus.DISCONNECTED,
        token_cache="",
        disconnected_at=now,
        disconnect_reason=reason,
        expiry_warned_days=None,
        last_token_error="",
        updated_at=now,
    )
    if not updated:
        return False
    PushedEvent.objects.filter(
        calendar__connection_id=connection.pk, state=PushState.PENDING
    ).update(state=PushState.WAITING, updated_at=now)
    logger.info("Calendar connection %s disconnected (%s)", connection.pk, reason)
    connection_disconnected.send(
        sender=CalendarConnection,
        connection_id=connection.pk,
        host_id=connection.host_id,
        provider=connection.provider,
        reason=str(reason),
    )
    if reason != DisconnectReason.HOST:
        connection_id = connection.pk
        transaction.on_commit(lambda: notifications.send_disconnected(connection_id=connection_id))
    return True


def connection_disconnect(
    *,
    connection: CalendarConnection,
    reason: str = DisconnectReason.HOST,
    condition: Q | None = None,
) -> bool:
    """Disconnect (the host's **Disconnect**, or expiry); idempotent.

    With ``condition``, only if the row still matches it under the row lock (see
    ``connection_mark_disconnected``).
    """
    with transaction.atomic():
        row = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
        changed = connection_mark_disconnected(connection=row, reason=reason, condition=condition)
    connection.refresh_from_db()
    return changed


def connection_set_reminder(*, connection: CalendarConnection, minutes: int | None) -> None:
    """Save the default reminder used for every event pushed through this connection."""
    if minutes not in REMINDER_MINUTES:
        raise ValueError(f"{minutes!r} is not one of the offered reminders.")
    connection.default_reminder_minutes = minutes
    connection.save(update_fields=["default_reminder_minutes", "updated_at"])
