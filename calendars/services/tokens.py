"""Access tokens for a connection, refreshed under a per-connection lock.

The refresh happens inside a transaction that holds ``select_for_update()`` on
the connection row (PostgreSQL row lock; SQLite's IMMEDIATE transactions
serialize writers), so two workers never refresh the same sign-in at once: the
second waits, then finds the first one's fresh access token in the re-read
cache. The rotated cache is saved in the same transaction. When Microsoft says
the grant is gone, the connection is disconnected before the error is raised.

A Graph call runs outside that lock, so the host may sign in again while it is in
flight; a refusal is therefore pinned to the sign-in (``signed_in_at``) that
produced the token, and never disconnects a newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from calendars import crypto
from calendars.models import CalendarConnection, ConnectionStatus, DisconnectReason
from calendars.providers import CalendarProvider, ProviderError, get_provider
from calendars.services.connections import connection_mark_disconnected, refresh_expiry

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _not_connected(connection: CalendarConnection) -> ProviderError:
    return ProviderError(
        f"Calendar connection {connection.pk} is disconnected.",
        permanent=True,
        code="disconnected",
        reason=connection.disconnect_reason or DisconnectReason.REVOKED,
    )


@dataclass(frozen=True)
class SignedInToken:
    """An access token and the sign-in it came from (the connection's ``signed_in_at``)."""

    token: str
    signed_in_at: datetime | None


def access_token_for(
    *,
    connection: CalendarConnection,
    force_refresh: bool = False,
    now: datetime | None = None,
    fresh: bool = False,
) -> str:
    """A Graph access token for ``connection``; never call while holding other row locks.
    ``fresh``: the caller read ``connection`` from the database just now (its stored
    tokens are used as read; else the row is read again for them).

    Raises ProviderError: permanent (and the connection is then disconnected) when
    the sign-in is gone, temporary when Microsoft could not be reached. Raises
    crypto.TokenKeyError when the stored tokens cannot be decrypted.
    """
    return signed_in_token_for(
        connection=connection, force_refresh=force_refresh, now=now, fresh=fresh
    ).token


@sensitive_variables("token_state", "token")
def signed_in_token_for(
    *,
    connection: CalendarConnection,
    force_refresh: bool = False,
    now: datetime | None = None,
    fresh: bool = False,
) -> SignedInToken:
    """As ``access_token_for``, also saying which sign-in the token belongs to."""
    provider = get_provider(connection.provider)
    if not force_refresh:
        row = connection if fresh else CalendarConnection.objects.get(pk=connection.pk)
        if row.status != ConnectionStatus.CONNECTED or not row.token_cache:
            raise _not_connected(row)
        token_state = crypto.decrypt(row.token_cache)
        token = provider.cached_access_token(token_state=token_state, account_id=row.account_id)
        if token:
            return SignedInToken(token=token, signed_in_at=row.signed_in_at)
    return _refresh_locked(connection=connection, provider=provider, force=force_refresh, now=now)


@sensitive_variables("token_state", "result")
def _refresh_locked(
    *,
    connection: CalendarConnection,
    provider: CalendarProvider,
    force: bool,
    now: datetime | None,
) -> SignedInToken:
    failure: ProviderError | None = None
    with transaction.atomic():
        row = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
        if row.status != ConnectionStatus.CONNECTED or not row.token_cache:
            failure = _not_connected(row)
        else:
            token_state = crypto.decrypt(row.token_cache)
            try:
                result = provider.acquire_access_token(
                    token_state=token_state, account_id=row.account_id, force_refresh=force
                )
            except ProviderError as error:
                failure = error
                if error.permanent:
                    # Safe to act on: the cache was read under the lock that a reconnect's
                    # write waits for, so the refusal is for the sign-in stored now.
                    logger.warning(
                        "Calendar connection %s lost its sign-in (%s)", row.pk, error.code
                    )
                    connection_mark_disconnected(connection=row, reason=error.reason, now=now)
                else:
                    row.last_token_error = error.message[:300]
                    row.save(update_fields=["last_token_error", "updated_at"])
            else:
                _store_refresh(row=row, result=result, provider=provider, now=now or timezone.now())
    connection.refresh_from_db()
    if failure is not None:
        raise failure
    return SignedInToken(token=result.token, signed_in_at=row.signed_in_at)


def _store_refresh(
    *, row: CalendarConnection, result, provider: CalendarProvider, now: datetime
) -> None:
    fields = ["updated_at"]
    if result.token_state is not None:
        row.token_cache = crypto.encrypt(result.token_state)
        fields.append("token_cache")
    if result.refresh_rotated:
        row.refresh_issued_at = now
        fields.append("refresh_issued_at")
        if not settings.CALENDAR_FIXED_RECONNECT:
            row.refresh_expires_at = refresh_expiry(provider=provider, issued_at=now)
            row.expiry_warned_days = None
            fields += ["refresh_expires_at", "expiry_warned_days"]
    if row.last_token_error:
        row.last_token_error = ""
        fields.append("last_token_error")
    row.save(update_fields=fields)


@dataclass
class HeldToken:
    """An access token kept for a run of calls to one connection (a push batch), so that
    each call does not decrypt and read the stored sign-in again. Holds nothing until
    ``with_provider`` got one; a token MSAL hands out has at least five minutes left
    (``MIN_TOKEN_LIFETIME``), far longer than a batch may run."""

    token: str | None = None
    signed_in_at: datetime | None = None  # the sign-in it belongs to

    def still_for(self, connection: CalendarConnection) -> bool:
        """Whether the kept token may serve ``connection`` as just read from the database:
        still connected, and with the sign-in the token came from (else it is let go)."""
        if not connection.is_connected or connection.signed_in_at != self.signed_in_at:
            self.token = None
        return self.token is not None


def with_provider(
    *,
    connection: CalendarConnection,
    action: Callable[[CalendarProvider, str], T],
    fresh: bool = False,
    held: HeldToken | None = None,
) -> T:
    """Run ``action(provider, access_token)``; on a 401 refresh once and run it again.
    ``fresh``: ``connection`` was read from the database just now (``access_token_for``).
    ``held``: the token to use if it holds one, and where the token used is kept for the
    next call (a refused one is let go).

    A second 401 with a freshly refreshed token means Microsoft no longer accepts
    this sign-in: the connection is disconnected and a permanent ProviderError raised.
    If the host signed in again while the call ran, the 401 was for the old sign-in:
    the new one is left connected and a temporary ProviderError (401) raised instead,
    so the caller's retry uses the new sign-in.
    This is how the busy-time sync and event push should call a provider.
    """
    provider = get_provider(connection.provider)
    held = held if held is not None else HeldToken()
    if held.token is None:
        signed_in = signed_in_token_for(connection=connection, fresh=fresh)
        held.token, held.signed_in_at = signed_in.token, signed_in.signed_in_at
    try:
        return action(provider, held.token)
    except ProviderError as error:
        if not error.token_rejected:
            raise
        held.token = None
    fresh = signed_in_token_for(connection=connection, force_refresh=True)
    try:
        result = action(provider, fresh.token)
    except ProviderError as error:
        if not error.token_rejected:
            raise
        logger.warning("Graph refused a fresh token for calendar connection %s", connection.pk)
        raise _sign_in_refused(connection=connection, refused=fresh, code=error.code) from None
    held.token, held.signed_in_at = fresh.token, fresh.signed_in_at
    return result


def _sign_in_refused(
    *, connection: CalendarConnection, refused: SignedInToken, code: str
) -> ProviderError:
    """Disconnect the connection if ``refused`` is still its sign-in; returns the error to raise."""
    with transaction.atomic():
        row = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
        replaced = row.is_connected and row.signed_in_at != refused.signed_in_at
        connection_mark_disconnected(
            connection=row,
            reason=DisconnectReason.REVOKED,
            condition=Q(signed_in_at=refused.signed_in_at),
        )
    connection.refresh_from_db()
    if replaced:
        logger.info(
            "Calendar connection %s was signed in again meanwhile; it stays connected",
            connection.pk,
        )
        return ProviderError(
            "Microsoft refused a sign-in that the host has since replaced; try again.",
            status=401,
            code=code,
        )
    return ProviderError(
        "Microsoft no longer accepts this sign-in (401 after a refresh).",
        permanent=True,
        status=401,
        code=code,
        reason=DisconnectReason.REVOKED,
    )
