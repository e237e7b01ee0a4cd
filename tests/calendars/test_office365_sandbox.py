"""The whole Office 365 connection with real MSAL against the Graph sandbox over HTTPS.

The host drives Setup through the Django test client; the sign-in and consent
pages are completed over HTTP as a browser would (``graph_sandbox_server.sign_in``);
the product reaches the sandbox's identity and Graph endpoints over TLS exactly
as it reaches Microsoft.
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from calendars import crypto, tasks
from calendars.models import CalendarConnection, ConnectionStatus, DisconnectReason
from calendars.providers import ProviderError
from calendars.services.calendar_refresh import calendar_list_refresh
from calendars.services.expiry import check_expiry
from calendars.services.tokens import access_token_for
from calendars.signals import connection_established
from tests.support.worker import wait_until

pytestmark = pytest.mark.slow

ADELE, MEGAN = "adele@contoso.example", "megan@contoso.example"
CONNECT = reverse("calendars:office365_connect")
CALLBACK = reverse("calendars:office365_callback")
LOBBY = reverse("calendars:integration")


@pytest.fixture
def sandbox(graph_sandbox_server):
    from graph_sandbox import control

    graph_sandbox_server.control = control
    return graph_sandbox_server


@pytest.fixture
def browser(client, host):
    """Alice's browser on the product, at an address registered as a redirect URI."""
    client.defaults["HTTP_HOST"] = "127.0.0.1:8000"
    client.force_login(host)
    return client


@pytest.fixture
def established():
    seen = []

    def record(sender, connection, new_account, **kwargs):
        seen.append((connection.pk, new_account))

    connection_established.connect(record, weak=False)
    yield seen
    connection_established.disconnect(record)


def connect(browser, sandbox, *, address=ADELE, consent=True, **form):
    """Press Connect, sign in and consent on the sandbox, and land back in Setup."""
    started = browser.post(CONNECT, form)
    assert started.status_code == 302, started.content[:500]
    answer = sandbox.sign_in(started["Location"], address=address, consent=consent)
    assert answer.redirect_uri == "http://127.0.0.1:8000" + CALLBACK
    landed = browser.post(CALLBACK, answer.fields)
    assert landed.status_code == 302
    return browser.get(landed["Location"]).content.decode()


def sandbox_age(sandbox, connection, days: int) -> None:
    """``days`` pass on both clocks as far as this connection's refresh token goes."""
    sandbox.control.clock_advance(timedelta(days=days))
    issued = timezone.now() - timedelta(days=days)
    CalendarConnection.objects.filter(pk=connection.pk).update(
        refresh_issued_at=issued,
        refresh_expires_at=issued + timedelta(days=90),
        signed_in_at=issued,
    )
    connection.refresh_from_db()


def test_connect_imports_owned_calendars_and_shows_account_and_expiry(
    browser, sandbox, established, host
):
    from booking.services.pages import page_create

    page_without_calendar = page_create(host=host, fields={"title": "Intro", "slug": "intro"})
    assert page_without_calendar.main_calendar is None

    page = connect(browser, sandbox)

    connection = CalendarConnection.objects.get()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.account_email == ADELE
    assert "Connected Office 365 as adele@contoso.example: 2 calendars imported." in page
    assert "Connected as <strong" in page
    assert 'data-testid="valid-until"' in page
    names = sorted(connection.calendars.values_list("name", "is_default"))
    assert names == [("Calendar", True), ("Personal", False)]
    assert connection.calendars_skipped == 2
    # Shared with Adele, and a room: skipped, and named.
    assert "so these were skipped:" in page
    assert "Megan Bowen (megan@contoso.example)" in page
    assert "Conference Room Rainier (rainier@contoso.example)" in page
    assert established == [(connection.pk, True)]
    assert connection.refresh_expires_at - connection.refresh_issued_at == timedelta(days=90)
    # The booking app listens: the default calendar became the page's main booking calendar.
    page_without_calendar.refresh_from_db()
    assert page_without_calendar.main_calendar == connection.calendars.get(is_default=True)


def test_declining_consent_stores_nothing(browser, sandbox):
    page = connect(browser, sandbox, consent=False)
    assert "Nothing was changed" in page
    assert not CalendarConnection.objects.exists()


def test_graph_calls_use_the_stored_sign_in(browser, sandbox):
    connect(browser, sandbox)
    connection = CalendarConnection.objects.get()
    before = sandbox.control.request_log()[-1].id

    assert calendar_list_refresh(connection=connection) == 2

    calls = sandbox.control.request_log(after_id=before)
    assert [(c.method, c.path) for c in calls] == [
        ("GET", "/v1.0/me"),
        ("GET", "/v1.0/me/calendars"),
    ]
    assert {c.client_id for c in calls} == {sandbox.client_id}


def test_keepalive_slides_the_ninety_days_forward(browser, sandbox):
    connect(browser, sandbox)
    connection = CalendarConnection.objects.get()
    sandbox_age(sandbox, connection, 31)
    issued_before = sandbox.control.refresh_tokens_issued(ADELE)
    old_expiry = connection.refresh_expires_at

    assert tasks.keep_connection_alive.apply(args=[connection.pk]).get() is True

    connection.refresh_from_db()
    assert sandbox.control.refresh_tokens_issued(ADELE) == issued_before + 1
    assert connection.refresh_expires_at >= old_expiry + timedelta(days=31) - timedelta(minutes=1)
    assert timezone.now() - connection.refresh_issued_at < timedelta(minutes=1)
    # The rotated refresh token works: another refresh succeeds.
    access_token_for(connection=connection, force_refresh=True)


def test_after_91_idle_days_the_connection_is_disconnected_with_one_email(
    browser, sandbox, django_capture_on_commit_callbacks
):
    connect(browser, sandbox)
    connection = CalendarConnection.objects.get()
    mail.outbox.clear()
    sandbox.control.clock_advance(timedelta(days=91))

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProviderError) as caught:
        access_token_for(connection=connection, force_refresh=True)

    assert caught.value.permanent
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert connection.disconnect_reason == DisconnectReason.EXPIRED
    assert connection.token_cache == ""
    assert [m.subject for m in mail.outbox] == ["Your Office 365 calendar was disconnected"]
    page = browser.get(reverse("setup:home")).content.decode()
    assert "is disconnected: the sign-in expired" in page
    assert ">Reconnect</button>" in page


def test_our_own_expiry_check_disconnects_when_the_date_passes(
    browser, sandbox, django_capture_on_commit_callbacks
):
    connect(browser, sandbox)
    connection = CalendarConnection.objects.get()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        expired, _ = check_expiry(now=connection.refresh_expires_at + timedelta(seconds=1))
    assert expired == [connection.pk]
    assert len(mail.outbox) == 1


def test_revocation_disconnects_and_reconnecting_the_same_account_keeps_choices(
    browser, sandbox, established, django_capture_on_commit_callbacks
):
    connect(browser, sandbox)
    connection = CalendarConnection.objects.get()
    browser.post(reverse("calendars:reminder", args=[connection.pk]), {"reminder": "1440"})
    default_calendar = connection.calendars.get(is_default=True)
    assert sandbox.control.grants_revoke(ADELE) >= 1
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProviderError):
        access_token_for(connection=connection, force_refresh=True)

    connection.refresh_from_db()
    # Revoked sessions answer AADSTS50173 (FreshTokenNeeded: "have the user sign in
    # again"): to the host, the sign-in expired.
    assert (connection.status, connection.disconnect_reason) == (
        ConnectionStatus.DISCONNECTED,
        DisconnectReason.EXPIRED,
    )
    assert len(mail.outbox) == 1
    lobby = browser.get(LOBBY).content.decode()
    assert ">Reconnect</button>" in lobby

    page = connect(browser, sandbox, reconnect="1")

    assert "Connected as <strong" in page
    reconnected = CalendarConnection.objects.get()
    assert reconnected.pk == connection.pk
    assert reconnected.default_reminder_minutes == 1440
    assert reconnected.calendars.get(is_default=True).pk == default_calendar.pk
    assert established[-1] == (connection.pk, False)
    access_token_for(connection=reconnected, force_refresh=True)


def test_switching_to_another_account_requires_disconnecting_first(browser, sandbox, established):
    connect(browser, sandbox)
    first = CalendarConnection.objects.get()

    refused = browser.post(CONNECT, follow=True).content.decode()
    assert "disconnect it first" in refused

    browser.post(reverse("calendars:disconnect", args=[first.pk]))
    page = connect(browser, sandbox, address=MEGAN)

    assert "Connected Office 365 as megan@contoso.example" in page
    second = CalendarConnection.objects.get(status=ConnectionStatus.CONNECTED)
    assert second.pk != first.pk
    assert established[-1] == (second.pk, True)
    assert sorted(second.calendars.values_list("name", flat=True)) == ["Calendar", "Personal"]


def _expire_access_token(connection) -> None:
    state = json.loads(crypto.decrypt(connection.token_cache))
    for entry in state["AccessToken"].values():
        entry["expires_on"] = str(int(time.time()) - 10)
    CalendarConnection.objects.filter(pk=connection.pk).update(
        token_cache=crypto.encrypt(json.dumps(state))
    )


def test_two_workers_never_race_a_refresh(browser, sandbox):
    connect(browser, sandbox)
    connection = CalendarConnection.objects.get()
    _expire_access_token(connection)
    before = sandbox.control.request_log()[-1].id
    start = threading.Barrier(2)
    tokens, errors = [], []

    def worker():
        try:
            start.wait()
            tokens.append(access_token_for(connection=CalendarConnection.objects.get()))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    refreshes = [
        c for c in sandbox.control.request_log(after_id=before) if c.path.endswith("/token")
    ]
    assert len(refreshes) == 1
    assert tokens[0] == tokens[1]


def test_beats_keepalive_runs_in_a_real_worker(browser, sandbox, worker_factory):
    connect(browser, sandbox)
    connection = CalendarConnection.objects.get()
    sandbox_age(sandbox, connection, 40)
    old_expiry = connection.refresh_expires_at
    worker_factory(**sandbox.worker_env())

    tasks.keep_connections_alive.delay()

    def slid():
        connection.refresh_from_db()
        return connection.refresh_expires_at > old_expiry + timedelta(days=39)

    wait_until(slid, timeout=60, message="the worker did not keep the connection alive")
    assert connection.status == ConnectionStatus.CONNECTED


def test_a_host_on_another_allowed_host_name_connects_through_the_site_url(
    client, host, sandbox, settings
):
    """Setup reached as http://localhost:8000 while SITE_URL is http://127.0.0.1:8000:
    Microsoft is sent SITE_URL's registered redirect URI (never the request's host, which
    real Microsoft refuses with AADSTS50011), answers there, and the browser is handed
    back to the host name it started on, where its session is."""
    from django.test import Client

    settings.SITE_URL = "http://127.0.0.1:8000"
    client.defaults["HTTP_HOST"] = "localhost:8000"
    client.force_login(host)
    started = client.post(CONNECT)
    assert started.status_code == 302, started.content[:500]
    answer = sandbox.sign_in(started["Location"], address=ADELE)
    assert answer.redirect_uri == "http://127.0.0.1:8000" + CALLBACK

    # Microsoft's form_post reaches SITE_URL's host name, where this browser has no
    # session: a page sends it on (by GET) to where the sign-in started, without the
    # code in a URL.
    at_site_url = Client(HTTP_HOST="127.0.0.1:8000").post(CALLBACK, answer.fields)
    assert at_site_url.status_code == 200
    page = at_site_url.content.decode()
    onward = html.unescape(re.search(r'href="([^"]+)">Continue</a>', page).group(1))
    assert f'<meta http-equiv="refresh" content="0; url={html.escape(onward)}">' in page
    assert onward.startswith("http://localhost:8000" + CALLBACK + "?")
    assert answer.fields["code"] not in onward
    assert not CalendarConnection.objects.exists()

    landed = client.get(onward.removeprefix("http://localhost:8000"))
    assert landed.status_code == 302
    assert "Connected Office 365 as adele@contoso.example" in client.get(LOBBY).content.decode()
    assert CalendarConnection.objects.get().host == host
    # The hand-over works once.
    again = client.get(onward.removeprefix("http://localhost:8000"), follow=True)
    assert "does not belong to a sign-in you started here" in again.content.decode()


def _token_requests(sandbox, after: int) -> int:
    return sum(1 for c in sandbox.control.request_log(after_id=after) if c.path.endswith("/token"))


def _access_token_expires_in(connection, seconds: int) -> None:
    state = json.loads(crypto.decrypt(connection.token_cache))
    for entry in state["AccessToken"].values():
        entry["expires_on"] = str(int(time.time()) + seconds)
    CalendarConnection.objects.filter(pk=connection.pk).update(
        token_cache=crypto.encrypt(json.dumps(state))
    )


@pytest.mark.parametrize("scope_form", ["short", "uri"])
def test_an_access_token_is_reused_until_it_nears_expiry_whatever_form_scopes_come_in(
    browser, sandbox, settings, scope_form
):
    """Microsoft's token answers name scopes as short names ("Calendars.ReadWrite") or,
    as its documentation shows, full URIs ("https://graph.microsoft.com/Calendars.ReadWrite").
    MSAL matches cached scopes literally; either way each Graph call must not spend a
    refresh grant: one refresh an hour, not one per call."""
    from calendars.providers import get_provider

    settings.GRAPH_SANDBOX_SCOPE_FORM = scope_form
    connect(browser, sandbox)
    connection = CalendarConnection.objects.get()
    [cached] = json.loads(crypto.decrypt(connection.token_cache))["AccessToken"].values()
    uri = "https://graph.microsoft.com/Calendars.ReadWrite"
    assert (uri in cached["target"].split()) == (scope_form == "uri")
    before = sandbox.control.request_log()[-1].id

    tokens = {access_token_for(connection=connection) for _ in range(3)}
    for _ in range(3):
        calendar_list_refresh(connection=connection)
    # MSAL's own silent lookup finds it too (what runs under the refresh lock).
    connection.refresh_from_db()
    silent = get_provider("office365").acquire_access_token(
        token_state=crypto.decrypt(connection.token_cache), account_id=connection.account_id
    )

    assert _token_requests(sandbox, before) == 0
    assert tokens == {silent.token}

    # Five minutes before it expires it counts as stale: one refresh, then reuse again.
    _access_token_expires_in(connection, 4 * 60)
    fresh = {access_token_for(connection=connection) for _ in range(3)}
    for _ in range(3):
        calendar_list_refresh(connection=connection)

    assert _token_requests(sandbox, before) == 1
    assert len(fresh) == 1
    assert fresh != tokens
