"""A personal Microsoft account's calendars, through the Graph sandbox over HTTPS.

Graph names a calendar's ``owner`` "if set", and a personal account that signs in with
another provider's address owns its calendars as its ``outlook_…@outlook.com`` alias:
its calendars are still its own (the default one, and those only it may share).
"""

from __future__ import annotations

import pytest

from tests.support.office365 import ADELE, connect_host

pytestmark = pytest.mark.slow

ALIAS = "outlook_5F3A9C21D0B4E7A1@outlook.com"


def test_calendars_owned_by_the_accounts_outlook_alias_are_offered(client, host, o365):
    o365.control.mailbox_calendar_owner_set(ADELE, ALIAS)
    o365.control.mailbox_online_meeting_providers_set(ADELE, ["skypeForConsumer"])
    client.force_login(host)

    connection = connect_host(client, o365)

    offered = connection.calendars.filter(is_active=True)
    assert sorted(offered.values_list("name", "is_default")) == [
        ("Calendar", True),
        ("Personal", False),
    ]
    assert not any(offered.values_list("online_meetings", flat=True))
    connection.refresh_from_db()
    assert connection.calendars_skipped == 2  # Megan's shared calendar and the room
