"""**Refresh calendar list** judges "the account's own" exactly as the sign-in did."""

from __future__ import annotations

import pytest

from calendars.models import CalendarConnection
from calendars.services.calendar_refresh import calendar_list_refresh

pytestmark = pytest.mark.django_db

# Microsoft's ID token names the account by preferred_username, which may be neither the
# mailbox's mail nor its userPrincipalName (e.g. a sign-in alias).
ALIAS = "alice.host@contoso.com"


def _calendar_owned_by(address: str) -> dict:
    return {
        "id": "AAMkADalias=",
        "name": "Office hours",
        "color": "auto",
        "hexColor": "#8a3ffc",
        "changeKey": "nfZyf7VcrEKLNoU37KWlkQAAA0x0+x==",
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "isDefaultCalendar": False,
        "isRemovable": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": {"name": "Alice Host", "address": "Alice.Host@contoso.com"},
    }


def _offered(connection: CalendarConnection) -> set[str]:
    return set(connection.calendars.filter(is_active=True).values_list("name", flat=True))


def test_a_refresh_keeps_a_calendar_the_sign_in_owned_through_the_id_tokens_name(
    host, fake_microsoft, django_capture_on_commit_callbacks
):
    fake_microsoft.preferred_username = ALIAS
    fake_microsoft.extra_calendars.append(_calendar_owned_by(ALIAS))
    with django_capture_on_commit_callbacks(execute=True):
        connection = fake_microsoft.connect(host).connection
    assert connection.account_addresses == [ALIAS, "alice@contoso.com"]
    signed_in = _offered(connection)
    assert signed_in == {"Calendar", "Client work", "Office hours"}

    with django_capture_on_commit_callbacks(execute=True):
        assert calendar_list_refresh(connection=connection) == 3
    assert _offered(connection) == signed_in
    connection.refresh_from_db()
    assert connection.calendars_skipped == 2  # Bob's calendar and the room, as before


def test_a_connection_from_before_addresses_were_kept_is_judged_by_its_email(
    connected, fake_microsoft
):
    CalendarConnection.objects.filter(pk=connected.pk).update(account_addresses=[])
    connected.refresh_from_db()
    assert calendar_list_refresh(connection=connected) == 2
    assert _offered(connected) == {"Calendar", "Client work"}
