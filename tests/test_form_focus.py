"""A form sent back with a mistake starts the cursor in the first field that has one,
on every server-rendered form (scheduleonce.forms.FocusFirstMistake): a keyboard or
screen reader user lands on the field and its message, not in a fixed first field or at
the top of the page."""

from __future__ import annotations

import re

from django.urls import reverse

from booking.services.pages import page_create
from tests.support.booking import editor_data


def _focused(html: str) -> list[str]:
    """The name of every element of the page that asks for the cursor."""
    tags = re.findall(r"<(?:input|select|textarea)\b[^>]*\bautofocus\b[^>]*>", html)
    return [re.search(r'\bname="([^"]+)"', tag).group(1) for tag in tags]


def test_log_in_without_a_password_starts_in_the_password_not_the_email(client, host):
    answer = client.post(reverse("accounts:login"), {"username": host.email, "password": ""})
    assert answer.status_code in (200, 400)
    assert _focused(answer.content.decode()) == ["password"]


def test_log_in_shows_the_email_first_when_nothing_was_sent_wrong(client):
    assert _focused(client.get(reverse("accounts:login")).content.decode()) == ["username"]


def test_a_profile_sent_with_a_mistake_starts_in_that_field(host_client):
    answer = host_client.post(
        reverse("setup:profile"), {"name": "Alice\nHost", "time_zone": "Europe/London"}
    )
    assert answer.status_code == 400
    assert _focused(answer.content.decode()) == ["name"]


def test_a_taken_booking_link_starts_in_the_link_field(host_client, teammate):
    page_create(host=teammate, fields={"title": "Bob", "slug": "taken"})
    answer = host_client.post(reverse("pages:create"), editor_data(slug="taken"))
    assert answer.status_code == 400
    assert _focused(answer.content.decode()) == ["page-slug"]


def test_a_wrong_working_hour_starts_in_its_row(host_client):
    hours = [(0, "09:00", "17:00"), (1, "nine", "17:00")]
    answer = host_client.post(reverse("pages:create"), editor_data(hours=hours))
    assert answer.status_code == 400
    assert _focused(answer.content.decode())[0] == "hours-1-start"


def test_a_webhook_sent_with_a_mistake_starts_in_that_field(host_client):
    answer = host_client.post(
        reverse("integrations:webhooks"), {"url": "not a url", "events": ["booking.created"]}
    )
    assert answer.status_code == 400
    assert _focused(answer.content.decode()) == ["url"]


def test_a_page_without_mistakes_asks_for_no_cursor(host_client):
    assert _focused(host_client.get(reverse("integrations:webhooks")).content.decode()) == []
