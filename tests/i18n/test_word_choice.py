"""German has two words where English says "Cancel": a button that leaves a form
without saving is "Abbrechen"; calling a meeting off is "Absagen". A German host
who read "Absagen" under the booking page form would fear it cancels meetings."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from booking.models import Question
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


def test_a_german_invitees_wrong_answers_are_explained_in_german(client, page):
    phone = Question.objects.create(page=page, label="Telefon", kind="phone")
    topic = Question.objects.create(page=page, label="Thema", kind="text", required=True)
    start = at(workday("Europe/London", days_ahead=3), 14)
    answers = {str(phone.pk): "ruf mich an", str(topic.pk): "   "}
    answer = book(client, page.slug, start=start, answers=answers, **GERMAN)
    errors = answer.json()["errors"]
    assert errors[f"answers.{phone.pk}"] == [
        "Geben Sie eine Telefonnummer ein, z. B. +44 20 7946 0958."
    ]
    assert errors[f"answers.{topic.pk}"] == ["Bitte beantworten Sie diese Frage."]
