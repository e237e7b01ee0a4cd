"""**Refresh calendar list**: re-import a connection's calendars from the provider."""

from __future__ import annotations

import logging
from dataclasses import replace

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from calendars import crypto
from calendars.models import CalendarConnection, ConnectionStatus
from calendars.providers import CalendarProvider, ProviderError
from calendars.providers.base import CalendarList
from calendars.services.calendar_store import calendars_apply
from calendars.services.tokens import with_provider
from calendars.signals import calendars_changed

logger = logging.getLogger(__name__)


def known_addresses(connection: CalendarConnection) -> frozenset[str]:
    """The addresses the sign-in knew the account by (some, such as the ID token's
    ``preferred_username``, only a sign-in sees), and the account's email."""
    stored = [*connection.account_addresses, connection.account_email]
    return frozenset(str(address).lower() for address in stored if address)


def _fetcher(connection: CalendarConnection):
    known = known_addresses(connection)

    def fetch(provider: CalendarProvider, access_token: str) -> CalendarList:
        account = provider.account(access_token=access_token)
        # Owned is judged as the sign-in judged it, so a refresh neither drops nor adds
        # a calendar because it cannot see an address the sign-in saw.
        account = replace(account, addresses=account.addresses | known)
        return provider.list_calendars(access_token=access_token, account=account)

    return fetch


def calendar_list_refresh(*, connection: CalendarConnection) -> int:
    """Re-import the calendars; returns how many usable calendars there are now.

    Choices for calendars that still exist are kept. Raises ProviderError (also when
    no configured key decrypts the stored tokens, code ``token_key``).
    Sends ``calendars_changed`` when anything changed.
    """
    try:
        calendar_list = with_provider(connection=connection, action=_fetcher(connection))
    except crypto.TokenKeyError:
        logger.error("Calendar connection %s: no key decrypts its stored tokens", connection.pk)
        raise ProviderError(
            "Your stored sign-in could not be read on our side. Please try again later; "
            "if this keeps happening, disconnect and connect again.",
            code="token_key",
            for_host=True,
        ) from None
    with transaction.atomic():
        # The host first, as page edits and bookings take it: the calendars_changed
        # receivers (booking) lock it after this has written calendar rows.
        get_user_model().objects.select_for_update().filter(pk=connection.host_id).first()
        row = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
        if row.status != ConnectionStatus.CONNECTED:
            raise ProviderError("The connection was disconnected meanwhile.", permanent=True)
        changed = calendars_apply(connection=row, calendar_list=calendar_list, now=timezone.now())
        if changed:
            calendars_changed.send(sender=CalendarConnection, connection=row)
    connection.refresh_from_db()
    return connection.calendars.filter(is_active=True).count()
