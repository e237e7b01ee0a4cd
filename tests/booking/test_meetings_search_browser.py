"""Setup → Meetings' search field on a phone: its label says what is searched, and its
placeholder fits the field (German's "Name oder E-Mail der eingeladenen Person" was cut
off at 375 pixels)."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The placeholder's width in the field's own font, and the room the field gives it.
PLACEHOLDER_FIT = """
input => {
  const style = getComputedStyle(input);
  const context = document.createElement("canvas").getContext("2d");
  context.font = style.font;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return [context.measureText(input.placeholder).width, room];
}
"""


@pytest.mark.parametrize(
    ("locale", "label"), [("de-DE", "Eingeladene suchen"), ("en-GB", "Search invitees")]
)
@pytest.mark.parametrize("width", [375, 1280])
def test_the_search_fields_label_and_placeholder_are_readable(
    transactional_db, host, live_server, chromium, locale, label, width
):
    page = chromium.new_context(viewport={"width": width, "height": 800}, locale=locale).new_page()
    log_in(page, live_server.url, host.email)
    page.goto(live_server.url + "/setup/meetings/")
    field = page.get_by_label(label, exact=True)
    assert field.get_attribute("type") == "search"
    needed, room = field.evaluate(PLACEHOLDER_FIT)
    assert needed <= room, f"placeholder {needed:.0f}px in a {room:.0f}px field"
