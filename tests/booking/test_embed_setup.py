"""Setup → a booking page's embed section: allowed sites, and the snippets to paste."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.booking import editor_data

pytestmark = pytest.mark.django_db


def _save(host_client, page, origins: str):
    data = editor_data(title=page.title, slug=page.slug, embed_origins=origins)
    return host_client.post(f"/setup/booking-pages/{page.pk}/", data)


def test_allowed_sites_are_saved_one_a_line_normalized(host_client, page):
    answer = _save(host_client, page, "https://WWW.Example.com/, http://localhost:8080\n")
    assert answer.status_code == 302
    page.refresh_from_db()
    assert page.embed_origins == "https://www.example.com\nhttp://localhost:8080"
    assert page.frame_ancestors() == ["https://www.example.com", "http://localhost:8080"]


@pytest.mark.parametrize(
    "bad", ["example.com", "https://example.com/path", "javascript:alert(1)", "*", "'none'"]
)
def test_what_is_not_a_site_address_is_refused_clearly(host_client, page, bad):
    answer = _save(host_client, page, bad)
    assert answer.status_code == 400
    assert "is not a site address" in answer.text
    page.refresh_from_db()
    assert page.embed_origins == ""


def test_the_edit_page_shows_both_snippets(host_client, page):
    text = html.unescape(host_client.get(f"/setup/booking-pages/{page.pk}/").text)
    assert (
        f'<iframe data-scheduleonce src="http://127.0.0.1:8000/book/{page.slug}/?embed=1"' in text
    )
    assert f'data-scheduleonce-popup="http://127.0.0.1:8000/book/{page.slug}/"' in text
    assert '<script src="http://127.0.0.1:8000/static/js/embed.js" async></script>' in text


def test_an_embedded_page_has_no_top_bar_and_reports_its_height(client, page):
    framed = client.get(f"/book/{page.slug}/?embed=1").text
    assert 'class="topbar"' not in framed
    assert "js/framed.js" in framed
    plain = client.get(f"/book/{page.slug}/").text
    assert 'class="topbar"' in plain
    assert "js/framed.js" not in plain


def test_the_pop_up_has_its_words_in_every_language_the_pages_speak():
    """static/js/embed.js runs on other sites, outside the catalogue: its own small table
    of words must name every shipped language, and not in English where it is not."""
    script = (Path(settings.BASE_DIR) / "static" / "js" / "embed.js").read_text()
    table = re.search(r"var WORDS = (\{.*?\n  \});", script, re.S).group(1)
    words = json.loads(table)
    assert set(words) == {code for code, _name in settings.LANGUAGES}
    for code, said in words.items():
        assert set(said) == {"close", "dialog"}
        assert all(said.values()), code
        if code != "en":
            assert said["close"] != words["en"]["close"], code
    assert words["de"] == {"close": "Schließen", "dialog": "Buchung"}
