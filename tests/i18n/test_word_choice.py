"""German words a new user met in English or in the wrong sense.

German has two words where English says "Cancel": a button that leaves a form
without saving is "Abbrechen"; calling a meeting off is "Absagen". A German host
who read "Absagen" under the booking page form would fear it cancels meetings."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import formats, translation

from booking.models import InviteeReminder, Question, ReminderState
from booking.reminders import SKIP_TOO_LATE
from booking.services.pages import page_create
from calendars.models import Calendar, CalendarConnection, PushedEvent
from tests.support.booking import at, book, workday
from tests.support.meetings import meeting, tomorrow_ten

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


def test_a_german_hosts_meeting_reads_german_dates_states_and_reasons(host_client, host, page):
    host.language = "de"
    host.save()
    start = tomorrow_ten()
    booking = meeting(page, start)
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="a", account_email="alice@contoso.com"
    )
    calendar = Calendar.objects.create(connection=connection, remote_id="A", name="Calendar")
    PushedEvent.objects.create(
        host=host, calendar=calendar, source=booking.mirror_source, payload={}, state="synced"
    )
    InviteeReminder.objects.create(
        booking=booking,
        booking_version=booking.sequence,
        offset_minutes=1440,
        due_at=start - timedelta(days=1),
        state=ReminderState.SKIPPED,
        skip_reason=SKIP_TOO_LATE,
    )
    detail = host_client.get(reverse("meetings:detail", args=[booking.pk])).content.decode()
    assert ": Im Kalender" in detail  # was "In the calendar"
    assert "erst nach dem Zeitpunkt dieser Erinnerung gebucht" in detail
    # German dates: "Dienstag, 8. Dezember 2026, 10:00", not "Dienstag 8 Dezember 2026, 10:00".
    with translation.override("de"):
        day = formats.date_format(start.astimezone(ZoneInfo(host.time_zone)), "l, j. F Y")
    assert f"{day}, " in detail
    listing = host_client.get(reverse("meetings:list")).content.decode()
    assert f">{day}</h2>" in listing
