"""In a browser, the log-in and password-reset forms with mistakes are the same page again
with the message beside them (now answered 400), and a second try goes through."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _posts_answered(page) -> list[int]:
    """The statuses of the form posts the page makes, in order."""
    statuses: list[int] = []
    page.on(
        "response",
        lambda answer: statuses.append(answer.status) if answer.request.method == "POST" else None,
    )
    return statuses


def test_a_wrong_password_then_the_right_one(transactional_db, host, live_server, chromium):
    page = chromium.new_page()
    statuses = _posts_answered(page)
    log_in(page, live_server.url, host.email, "not-the-password")
    page.get_by_text("do not match an account").wait_for()
    assert page.url.endswith("/accounts/login/")
    assert page.input_value("#id_username") == host.email
    page.fill("#id_password", "alice-password-1")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/setup/"))
    assert statuses == [400, 302]


def test_a_new_password_typed_twice_differently_then_alike(
    transactional_db, host, live_server, chromium
):
    page = chromium.new_page()
    statuses = _posts_answered(page)
    page.goto(f"{live_server.url}/accounts/password-reset/")
    page.fill("#id_email", "not an address")
    page.click("button[type=submit]")
    page.get_by_text("Enter a valid email address.").wait_for()
    page.fill("#id_email", host.email)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/password-reset/sent/"))
    link = re.search(r"https?://\S+?(/accounts/reset/\S+/)", mail.outbox[-1].body).group(1)
    page.goto(live_server.url + link)
    page.fill("#id_new_password1", "brand-new-phrase-9")
    page.fill("#id_new_password2", "brand-new-phrase-8")
    page.click("button[type=submit]")
    page.get_by_text("The two password fields didn").wait_for()
    page.fill("#id_new_password1", "brand-new-phrase-9")
    page.fill("#id_new_password2", "brand-new-phrase-9")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/reset/done/"))
    assert statuses == [400, 302, 400, 302]
