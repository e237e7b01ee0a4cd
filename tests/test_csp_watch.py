"""The browser tests' own guard: a page that breaks its Content-Security-Policy is caught."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_browser_helper_reports_every_csp_violation(chromium):
    page = chromium.new_page()
    page.set_content(
        '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'; '
        "style-src 'none'\">"
        "<script>document.title = 'ran';</script><p style=\"color: red\">x</p>"
    )
    page.wait_for_timeout(200)

    found = list(chromium.csp.violations)
    chromium.csp.violations.clear()  # seen and expected: the fixture must not fail the test
    assert page.title() != "ran"
    assert any("script-src" in text for text in found), found
    assert any("style-src" in text for text in found), found
