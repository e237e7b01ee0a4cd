"""German has two words where English says "Cancel": a button that leaves a form
without saving is "Abbrechen"; calling a meeting off is "Absagen". A German host
who read "Absagen" under the booking page form would fear it cancels meetings."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from booking.services.pages import page_create
from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


def _leave_link(html: str, href: str) -> str:
    match = re.search(rf'<a class="button secondary" href="{re.escape(href)}">([^<]+)</a>', html)
    assert match, f"no link back to {href}"
    return match.group(1)


def test_leaving_the_booking_page_form_reads_abbrechen(host_client, host):
    html = host_client.get(reverse("pages:create"), **GERMAN).content.decode()
    assert _leave_link(html, reverse("pages:list")) == "Abbrechen"
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    html = host_client.get(reverse("pages:edit", args=[page.pk]), **GERMAN).content.decode()
    assert _leave_link(html, reverse("pages:list")) == "Abbrechen"


def test_a_meetings_cancel_page_still_says_absagen(client, page):
    start = at(workday("Europe/London", days_ahead=3), 14)
    answer = book(client, page.slug, start=start, **GERMAN)
    answer = answer.json()
    html = client.get(answer["cancel_url"], **GERMAN).content.decode()
    assert "<title>Absagen ·" in html
    assert "Grund der Absage (optional)" in html  # the reason's label was English
