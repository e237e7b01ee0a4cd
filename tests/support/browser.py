"""Real Chromium for browser tests: Debian's package driven by Playwright.

Never a downloaded browser: ``CHROMIUM_PATH`` (default ``/usr/bin/chromium``),
headless, without the background networking this closed network refuses. Every
page watches for Content-Security-Policy violations (``CspWatch``); the ``chromium``
fixture fails a test that had any.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import connections

T = TypeVar("T")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


# Runs in every page and frame before its own scripts: reports each Content-Security-
# Policy violation (a blocked inline script or style, a refused form target, ...).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__reportCspViolation(
    event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
    " on " + event.documentURI + (event.sample ? " (" + event.sample + ")" : "")
  );
});
"""


class CspWatch:
    """Every Content-Security-Policy violation seen in a browser's pages.

    The pages' own ``securitypolicyviolation`` events, and the browser's console errors
    about the policy (form targets refused after a redirect are reported only there).
    """

    def __init__(self) -> None:
        self.violations: list[str] = []

    def watch(self, context) -> None:
        context.add_init_script(CSP_LISTENER)
        context.expose_binding(
            "__reportCspViolation", lambda _source, text: self.violations.append(text)
        )
        context.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.violations.append(f"console: {message.text}")

    def assert_none(self) -> None:
        assert not self.violations, "Content-Security-Policy violations:\n" + "\n".join(
            self.violations
        )


class WatchedBrowser:
    """A Playwright browser whose every context (and so every page) reports CSP violations
    to ``csp``; otherwise it is the browser itself."""

    def __init__(self, browser, csp: CspWatch) -> None:
        self._browser = browser
        self.csp = csp

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        self.csp.watch(context)
        return context

    def new_page(self, **kwargs):
        """A page in a context of its own (closed with the browser)."""
        return self.new_context(**kwargs).new_page()

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


@contextmanager
def chromium_browser() -> Iterator[WatchedBrowser]:
    """Debian's Chromium, headless; ``.csp`` collects the pages' CSP violations."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield WatchedBrowser(browser, CspWatch())
        finally:
            browser.close()


def off_loop(function: Callable[[], T]) -> T:
    """Run ``function`` (database work) in a plain thread and close its connections.

    Playwright's sync API runs an event loop in the test's thread, where Django
    treats the ORM as async-unsafe and keeps connections the test cannot close
    (on PostgreSQL they then block dropping the test database).
    """
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class Screenshots:
    """Numbered full-page screenshots of each step under ``var/screenshots/<test name>/``."""

    def __init__(self, name: str) -> None:
        self.folder = Path(settings.VAR_DIR) / "screenshots" / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def take(self, page, step: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{step}.png"), full_page=True)


def log_in(page, base_url: str, email: str, password: str = "alice-password-1") -> None:  # noqa: S107
    """Log in through the login form, as a host would (the default is the `host` fixture's)."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


# Every word (split at spaces and after hyphens and en dashes, where browsers may wrap
# too: "13:00-(en dash)" then "17:00" is no broken word) under the root whose letters lie on more
# than one line: "Entfe/rnen" in a squeezed column, an email broken in two. Text only a
# screen reader gets (inside a box a pixel wide, e.g. a phone card's hidden headers) is
# left out.
BROKEN_WORDS = """
root => {
  const hidden = element => {
    for (let at = element; at && at !== root.parentElement; at = at.parentElement) {
      const box = at.getBoundingClientRect();
      if (box.width <= 1 || box.height <= 1) return true;
    }
    return false;
  };
  const broken = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (hidden(node.parentElement)) continue;
    for (const match of node.data.matchAll(/[^\\s\u2013-]+[\u2013-]?/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set(
        [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom))
      );
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}
"""


def broken_words(page, selector: str) -> list[str]:
    """The words inside ``selector`` (the first match) that break across lines."""
    return page.locator(selector).first.evaluate(BROKEN_WORDS)


# Every select whose chosen option, and every field whose placeholder, is wider than the
# room the control gives it (cut off on screen), under the root.
CUT_OFF_TEXT = """
root => {
  const cut = [];
  const context = document.createElement("canvas").getContext("2d");
  for (const control of root.querySelectorAll("select, input[placeholder]")) {
    if (control.offsetParent === null) continue;
    const style = getComputedStyle(control);
    context.font = style.font;
    const select = control.tagName === "SELECT";
    const text = select ? (control.selectedOptions[0] || {}).text || "" : control.placeholder;
    const arrow = select ? 20 : 0;
    const room =
      control.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - arrow;
    if (context.measureText(text).width > room) cut.push(`${control.name}: ${text}`);
  }
  return cut;
}
"""


def cut_off_text(page, selector: str) -> list[str]:
    """The selects and placeholders inside ``selector`` whose text the control cuts off."""
    return page.locator(selector).first.evaluate(CUT_OFF_TEXT)
