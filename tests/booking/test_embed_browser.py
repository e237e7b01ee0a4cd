"""The embed in a real browser: another site (another origin, so cross-site) frames the
booking page, the frame takes the page's height, an invitee books inside it without any
cookie, and the site hears ``scheduleonce:booked``; framing Setup is refused."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from booking.services.pages import page_create
from tests.support.booking import workday
from tests.support.browser import off_loop
from tests.support.net import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SITE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme</title></head>
<body>
<h1>Acme Ltd</h1>
{frames}
<script>
window.booked = [];
window.addEventListener("message", function (event) {{
  if (event.data && event.data.type === "scheduleonce:booked") {{
    window.booked.push({{origin: event.origin, booking: event.data.booking}});
  }}
}});
</script>
<script src="{product}/static/js/embed.js"></script>
</body></html>
"""


@contextmanager
def another_site(pages: dict[str, str]) -> Iterator[str]:
    """A plain web server on ``localhost`` (the product runs on 127.0.0.1): another site."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def acme_showing(host, product: str, markup: str) -> Iterator[str]:
    """Alice's page ``intro``, and Acme's site with ``markup`` and the embed script."""
    off_loop(lambda: page_create(host=host, fields={"title": "Intro call", "slug": "intro"}))
    with another_site({"/": SITE.format(frames=markup, product=product)}) as site:
        yield site


def test_another_site_embeds_the_booking_page_and_hears_about_the_booking(
    transactional_db, host, live_server, chromium, screenshots
):
    product = live_server.url
    frame_tag = (
        f'<iframe data-scheduleonce src="{product}/book/intro/?embed=1" title="Book a meeting"'
        ' style="width:100%;height:300px;border:0"></iframe>'
    )
    with acme_showing(host, product, frame_tag) as site:
        context = chromium.new_context(
            viewport={"width": 1280, "height": 900}, timezone_id="Europe/London", locale="en-GB"
        )
        visitor = context.new_page()
        errors: list[str] = []
        visitor.on("pageerror", lambda error: errors.append(str(error)))
        visitor.goto(f"{site}/")
        frame = visitor.frame_locator("iframe[data-scheduleonce]")
        frame.locator("button.day.has-slots").first.wait_for()
        # The frame grew from the snippet's 300 px to the page's height.
        iframe = visitor.locator("iframe[data-scheduleonce]")
        expect(iframe).not_to_have_attribute("style", "width:100%;height:300px;border:0")
        height = iframe.bounding_box()["height"]
        assert height > 300
        day = workday("Europe/London")
        if not frame.locator(f'button.day.has-slots[data-date="{day.isoformat()}"]').count():
            frame.locator("#next-month").click()
        frame.locator(f'button.day.has-slots[data-date="{day.isoformat()}"]').click()
        frame.locator("button.slot", has_text="10:00").click()
        frame.locator("#f-name").fill("Priya Invitee")
        frame.locator("#f-email").fill("priya@example.com")
        frame.locator("#book-button").click()
        frame.locator("text=You're booked with Alice Host").wait_for()
        screenshots.take(visitor, "embedded-confirmation")
        booked = visitor.evaluate("window.booked")
        assert len(booked) == 1
        assert booked[0]["origin"] == product
        message = booked[0]["booking"]
        assert message["page"] == "intro"
        assert message["title"] == "Intro call"
        assert message["host"] == "Alice Host"
        assert message["start"].startswith(f"{day.isoformat()}T10:00:00")
        assert "cancel_url" not in message
        # The confirmation stays embedded (no top bar) and nothing needed a cookie.
        assert frame.locator("header.topbar").count() == 0
        assert context.cookies() == []
        assert errors == []


def test_another_site_cannot_frame_setup_or_the_log_in_page(
    transactional_db, live_server, chromium
):
    product = live_server.url
    frame_tag = (
        f'<iframe id="setup" src="{product}/setup/" title="Setup"></iframe>'
        f'<iframe id="login" src="{product}/accounts/login/" title="Log in"></iframe>'
    )
    with another_site({"/": SITE.format(frames=frame_tag, product=product)}) as site:
        visitor = chromium.new_page()
        visitor.goto(f"{site}/")
        visitor.wait_for_load_state("load")
        refused = [v for v in chromium.csp.violations if "frame-ancestors" in v]
        for _ in range(50):
            if len(refused) >= 2:
                break
            visitor.wait_for_timeout(100)
            refused = [v for v in chromium.csp.violations if "frame-ancestors" in v]
        assert len(refused) == 2, chromium.csp.violations
        assert all("'none'" in v for v in refused)
        for frame in visitor.frames[1:]:
            assert "Log in" not in frame.content()
        # These refusals are what this test expects; any other violation still fails it.
        for violation in refused:
            chromium.csp.violations.remove(violation)


@pytest.mark.parametrize(
    ("browser_locale", "query", "close", "language"),
    [
        ("en-GB", "", "Close", "en"),
        ("de-DE", "", "Schließen", "de"),
        # The link's ?lang= wins over the browser's language, in the page and the pop-up.
        ("en-GB", "?lang=de", "Schließen", "de"),
    ],
)
def test_the_pop_up_closes_with_a_button_in_the_language_of_its_page(
    transactional_db, host, live_server, chromium, browser_locale, query, close, language
):
    product = live_server.url
    button = (
        f'<button type="button" data-scheduleonce-popup="{product}/book/intro/{query}">'
        "Book</button>"
    )
    with acme_showing(host, product, button) as site:
        visitor = chromium.new_context(locale=browser_locale).new_page()
        errors: list[str] = []
        visitor.on("pageerror", lambda error: errors.append(str(error)))
        visitor.goto(f"{site}/")
        visitor.get_by_role("button", name="Book").click()
        closer = visitor.locator("[role=dialog] > div > button")
        expect(closer).to_have_attribute("aria-label", close)
        expect(closer).to_be_focused()
        frame = visitor.frame_locator("iframe[data-scheduleonce-popup-frame]")
        expect(frame.locator("html")).to_have_attribute("lang", language)
        closer.click()
        expect(visitor.locator("[role=dialog]")).to_have_count(0)
        assert errors == []
