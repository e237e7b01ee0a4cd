"""A host connects Office 365 in a real browser (Debian's Chromium through Playwright).

The product runs on ``live_server``; the Graph sandbox serves its sign-in and
consent pages from the same server (as ``make run`` does) and its identity and
Graph endpoints over TLS. A screenshot per step goes to
``var/screenshots/test_host_connects_office365_in_the_browser/``.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from calendars.models import CalendarConnection, ConnectionStatus
from calendars.providers.office365 import msal_app
from tests.support.browser import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def the_connection() -> CalendarConnection:
    return off_loop(lambda: CalendarConnection.objects.get())


def sign_in_on_the_sandbox(tab, shots, *, address: str, password: str, step: str) -> None:
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
    tab.get_by_label("Account").select_option(address)
    tab.get_by_label("Password").fill(password)
    shots.take(tab, f"{step}-sign-in")
    tab.get_by_role("button", name="Sign in").click()
    consent_if_asked(tab, shots, step=step)


# How long a sign-in tab may take to hand over and close: Sign in, consent, our callback
# (token request, the account's calendars) and Setup's page, on a machine that may be busy.
SIGN_IN_TAB_TIMEOUT = 90_000


def sign_in_and_wait_for_the_tab_to_close(tab, shots, *, address: str, password: str, step: str):
    """Sign in in the tab Connect opened, then wait until it closes itself (once our
    callback has the connection and Setup's other tabs were told).

    The close is awaited from before the first click: it may come while we still look
    at the tab (after Sign in, or while ``consent_if_asked`` polls), and Playwright does
    not replay an event that fired before a wait for it began. Waiting for it afterwards
    (``tab.wait_for_event("close")``) then sat out its whole timeout and failed, which a
    busy machine, where each look at the tab is slow, made likely."""
    with tab.expect_event("close", timeout=SIGN_IN_TAB_TIMEOUT):
        sign_in_on_the_sandbox(tab, shots, address=address, password=password, step=step)
    assert tab.is_closed()


def consent_if_asked(tab, shots, *, step: str) -> None:
    """Accept the sandbox's consent page if Sign in led to it (an app's first sign-in).

    Otherwise the sandbox hands over to our callback, which closes a sign-in tab or
    shows Setup in this one. Wait for one of the three: looking for Accept right after
    the click raced the navigation and could skip the consent."""
    accept = tab.get_by_role("button", name="Accept")
    deadline = time.monotonic() + SIGN_IN_TAB_TIMEOUT / 1000
    while time.monotonic() < deadline:
        try:
            if tab.is_closed() or "/graph-sandbox/" not in tab.url:
                return
            if accept.is_visible():
                shots.take(tab, f"{step}-consent")
                accept.click()
                return
            tab.wait_for_timeout(50)
        except PlaywrightError:
            if tab.is_closed():  # the callback closed the tab meanwhile
                return
            raise
    raise AssertionError("Sign in led neither to the consent page nor to our callback")


def connect_in_this_tab(page, base_url: str, host, sandbox, shots, address: str) -> None:
    """Log in at ``base_url``, open Calendar integration, connect in the same tab."""
    page.goto(f"{base_url}/accounts/login/?next=/setup/integration/calendar/")
    page.fill('input[name="username"]', host.email)
    page.fill('input[name="password"]', "alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="or use this tab instead").click()
    sign_in_on_the_sandbox(page, shots, address=address, password=sandbox.password, step="connect")


def test_host_connects_office365_in_the_browser(
    live_server, graph_sandbox_server, host, chromium, screenshots, settings
):
    settings.SITE_URL = live_server.url  # Microsoft answers at SITE_URL's redirect URI
    sandbox = graph_sandbox_server
    off_loop(lambda: sandbox.set_pages_url(live_server.url))
    msal_app._HTTP_CACHE.clear()  # MSAL keeps the discovery document (with the page URL)
    shots = screenshots
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # Log in and open Setup → Integration → Calendar integration.
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="username"]', host.email)
    page.fill('input[name="password"]', "alice-password-1")
    shots.take(page, "log-in")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Getting started")).to_be_visible()
    page.get_by_role("navigation", name="Setup").get_by_role(
        "link", name="Calendar integration"
    ).click()
    expect(page.get_by_role("heading", name="Office 365")).to_be_visible()
    shots.take(page, "lobby")

    # Connect opens Microsoft's (the sandbox's) sign-in in a new tab.
    with context.expect_page() as new_tab:
        page.get_by_role("button", name="Connect", exact=True).click()
    sign_in_and_wait_for_the_tab_to_close(
        new_tab.value,
        shots,
        address="adele@contoso.example",
        password=sandbox.password,
        step="connect",
    )

    # The sign-in tab closed itself; Setup (the first tab) reloads with the account,
    # calendars, expiry and the message (its reload may still be on its way).
    expect(page.get_by_text("Connected Office 365 as adele@contoso.example")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_test_id("account-email")).to_have_text("adele@contoso.example")
    expect(page.get_by_test_id("valid-until")).to_have_text(re.compile(r"\d{1,2} \w+ \d{4}"))
    calendars = page.get_by_role("list", name="Office 365 calendars")
    expect(calendars).to_contain_text("Calendar")
    expect(calendars).to_contain_text("Personal")
    expect(calendars).not_to_contain_text("Megan Bowen")
    expect(page.get_by_test_id("skipped-note")).to_contain_text("Megan Bowen")
    expect(page.get_by_test_id("skipped-note")).to_contain_text("Conference Room Rainier")
    shots.take(page, "connected")

    # Pick a reminder: it saves at once.
    page.get_by_label("Default reminder for Office 365 events").select_option(label="1 hour")
    expect(page.get_by_text("Default reminder saved: 1 hour.")).to_be_visible()
    shots.take(page, "reminder")
    assert the_connection().default_reminder_minutes == 60

    # Disconnect, after confirming.
    page.get_by_role("link", name="Disconnect").click()
    expect(page.get_by_role("heading", name="Disconnect Office 365?")).to_be_visible()
    shots.take(page, "disconnect-confirm")
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_text("Disconnected Office 365 (adele@contoso.example)")).to_be_visible()
    shots.take(page, "disconnected")
    assert the_connection().status == ConnectionStatus.DISCONNECTED

    # Reconnect: same account, choices kept.
    with context.expect_page() as new_tab:
        page.get_by_role("button", name="Reconnect").click()
    sign_in_and_wait_for_the_tab_to_close(
        new_tab.value,
        shots,
        address="adele@contoso.example",
        password=sandbox.password,
        step="reconnect",
    )
    expect(page.get_by_text("Connected Office 365 as adele@contoso.example")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_test_id("account-email")).to_have_text("adele@contoso.example")
    expect(page.get_by_label("Default reminder for Office 365 events")).to_have_value("60")
    shots.take(page, "reconnected")
    assert the_connection().status == ConnectionStatus.CONNECTED
    context.close()


def test_microsofts_cross_site_post_is_completed_from_our_own_origin(
    live_server, graph_sandbox_server, host, chromium, screenshots, settings
):
    """With real Microsoft the callback POST comes from another site, so the browser
    leaves out our SameSite=Lax session cookie. Here the sandbox's pages run on
    another site (127.0.0.1 vs localhost) to show the product copes."""
    settings.SITE_URL = live_server.url
    sandbox = graph_sandbox_server
    assert urlsplit(sandbox.pages_url).hostname != urlsplit(live_server.url).hostname
    shots = screenshots
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    callbacks = []
    page.on(
        "response",
        lambda r: callbacks.append(r.status) if r.url.endswith("/office365/callback/") else None,
    )
    connect_in_this_tab(page, live_server.url, host, sandbox, shots, "megan@contoso.example")

    # Our callback (the token request, the account's calendars) may take a while on a
    # busy machine: wait for Setup as the host sees it, not for the default 5 s.
    expect(page.get_by_test_id("account-email")).to_have_text(
        "megan@contoso.example", timeout=30_000
    )
    shots.take(page, "connected")
    # First the cookie-less cross-site POST (answered with the re-post page), then ours.
    assert callbacks == [200, 302]
    assert the_connection().account_email == "megan@contoso.example"
    context.close()


def test_setup_reached_under_another_host_name_connects_through_site_url(
    live_server, graph_sandbox_server, host, chromium, screenshots, settings
):
    """The host opens Setup as http://localhost:<port> while SITE_URL names
    http://127.0.0.1:<port>: Microsoft answers at SITE_URL's redirect URI (the registered
    one), and the browser is handed back to localhost, where it is logged in."""
    port = urlsplit(live_server.url).port
    settings.SITE_URL = f"http://127.0.0.1:{port}"
    here = f"http://localhost:{port}"
    sandbox = graph_sandbox_server
    off_loop(lambda: sandbox.set_pages_url(here))
    msal_app._HTTP_CACHE.clear()
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    answered_at = []
    page.on(
        "request",
        lambda r: answered_at.append(r.url) if "/office365/callback/" in r.url else None,
    )
    connect_in_this_tab(page, here, host, sandbox, screenshots, "adele@contoso.example")

    expect(page.get_by_test_id("account-email")).to_have_text(
        "adele@contoso.example", timeout=30_000
    )
    screenshots.take(page, "connected")
    assert page.url == f"{here}/setup/integration/calendar/"
    assert [urlsplit(url).netloc for url in answered_at] == [
        f"127.0.0.1:{port}",
        f"localhost:{port}",
    ]
    assert the_connection().account_email == "adele@contoso.example"
    context.close()
