"""Fixtures for calendar tests that fake Microsoft's HTTP answers with ``responses``."""

from __future__ import annotations

import pytest
import responses

from calendars.providers.office365 import msal_app
from tests.support.microsoft import AUTHORITY, CLIENT_ID, GRAPH, FakeMicrosoft


@pytest.fixture(autouse=True)
def _fresh_msal_http_cache():
    """MSAL keeps discovery documents for a day: each test starts without them."""
    msal_app._HTTP_CACHE.clear()
    yield
    msal_app._HTTP_CACHE.clear()


@pytest.fixture
def microsoft_settings(settings):
    """The product configured for real Microsoft (as with an Azure app registration)."""
    settings.MS_AUTHORITY = AUTHORITY
    settings.MS_GRAPH_URL = GRAPH
    settings.MS_CLIENT_ID = CLIENT_ID
    settings.MS_CLIENT_SECRET = "Q8x8Q~unit-test-client-secret"
    settings.MS_CA_BUNDLE = ""
    # MSAL caches discovery (24 h) and identical HTTP 400 answers (60 s) in this dict.
    msal_app._HTTP_CACHE.clear()
    yield settings
    msal_app._HTTP_CACHE.clear()


@pytest.fixture
def fake_microsoft(microsoft_settings):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeMicrosoft(mock)


@pytest.fixture
def connected(db, host, fake_microsoft, django_capture_on_commit_callbacks):
    """Alice, connected to alice@contoso.com through the real connect services."""
    with django_capture_on_commit_callbacks(execute=True):
        result = fake_microsoft.connect(host)
    return result.connection


# --- the calendar workers against the Graph sandbox -----------------------------------------


@pytest.fixture
def o365(graph_sandbox_server):
    """The Graph sandbox, with its controls at ``.control``."""
    from graph_sandbox import control

    graph_sandbox_server.control = control
    return graph_sandbox_server


@pytest.fixture
def adele(client, host, o365):
    """Alice, logged in to Setup and connected to adele@contoso.example (15-minute reminder)."""
    from tests.support.office365 import connect_host

    client.force_login(host)
    return connect_host(client, o365)


@pytest.fixture
def intro(host, adele, settings):
    """Alice's page "Intro call" at /book/intro/: open all day every day, 15-minute slots.

    Its main booking calendar is Adele's default calendar (read for busy time). The
    booking rate limit is off: these tests book many times from one address.
    """
    from tests.support.office365 import open_page

    settings.BOOKING_RATE_LIMIT = 0
    return open_page(host)
