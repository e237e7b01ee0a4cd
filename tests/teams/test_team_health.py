"""What Team tells an admin about each member's calendar health: why a member is
disconnected, since when, when a sign-in expires soon, how many bookings did not reach
their calendar and why, and that only the member can act (in English and German)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from calendars.error_text import error_stored
from calendars.events import EventDescription
from calendars.models import CalendarConnection, DisconnectReason, PushedEvent, PushState
from calendars.providers import ProviderError
from tests.teams.conftest import connect

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _health_text(answer, email: str) -> str:
    html = answer.content.decode()
    row = re.search(rf'<tr data-member="{re.escape(email)}">(.*?)</tr>', html, re.S).group(1)
    cell = re.search(r'data-testid="connection"[^>]*>(.*?)</td>', row, re.S).group(1)
    text = (
        re.sub(r"<[^>]+>", " ", re.sub(r"<wbr\s*/?>", "", cell))
        .replace("&#x27;", "'")
        .replace("\u200b", "")
    )
    return " ".join(text.split())


def _disconnected(user, reason: str) -> CalendarConnection:
    calendar = connect(user, "bob@contoso.example")
    connection = calendar.connection
    CalendarConnection.objects.filter(pk=connection.pk).update(
        status="disconnected", disconnect_reason=reason, disconnected_at=SINCE
    )
    return connection


@pytest.mark.parametrize(
    ("reason", "english", "german"),
    [
        (
            DisconnectReason.EXPIRED,
            "Why: the sign-in expired (Microsoft asks for a new sign-in after 90 days",
            "Grund: Die Anmeldung ist abgelaufen (Microsoft verlangt nach 90 Tagen",
        ),
        (
            DisconnectReason.REVOKED,
            "Why: Microsoft refused the sign-in (access was revoked, or the password was "
            "changed, in Microsoft 365).",
            "Grund: Microsoft hat die Anmeldung abgelehnt (der Zugriff wurde in Microsoft 365 "
            "entzogen oder das Passwort dort geändert).",
        ),
        (
            DisconnectReason.HOST,
            "Why: Bob Teammate disconnected it.",
            "Grund: Bob Teammate hat das Konto selbst getrennt.",
        ),
    ],
)
def test_a_disconnected_member_says_why_since_when_and_that_they_must_reconnect(
    client, org, host, teammate, reason, english, german
):
    # Team said only "Disconnected bob@…": not why, nor who must act.
    _disconnected(teammate, reason)
    client.force_login(host)  # Alice, in London

    text = _health_text(client.get("/setup/team/"), teammate.email)
    assert text.startswith("Disconnected bob@contoso.example")
    assert english in text
    assert "Since 1 December 2026, 09:00 GMT." in text
    assert (
        "Only Bob Teammate can reconnect it, in their own Setup → Calendar integration; an "
        "admin cannot do it for them." in text
    )

    text = _health_text(client.get("/setup/team/", HTTP_ACCEPT_LANGUAGE="de"), teammate.email)
    assert text.startswith("Getrennt bob@contoso.example")
    assert german in text
    assert "Seit 1. Dezember 2026, 09:00 GMT." in text
    assert "Nur Bob Teammate kann das Konto neu verbinden" in text


def test_since_when_is_in_the_admins_time_zone_with_its_zone(client, org, host, teammate):
    _disconnected(teammate, DisconnectReason.EXPIRED)
    host.time_zone = "Europe/Berlin"
    host.save(update_fields=["time_zone"])
    client.force_login(host)
    assert "Since 1 December 2026, 10:00 CET." in _health_text(
        client.get("/setup/team/"), teammate.email
    )


def test_a_sign_in_that_expires_soon_says_when_and_who_renews_it(client, org, host, teammate):
    connection = connect(teammate, "bob@contoso.example").connection
    soon = timezone.now().replace(microsecond=0) + timedelta(days=2)
    CalendarConnection.objects.filter(pk=connection.pk).update(refresh_expires_at=soon)
    client.force_login(host)

    text = _health_text(client.get("/setup/team/"), teammate.email)
    when = timezone.localtime(soon, timezone.get_fixed_timezone(0))  # London in December
    assert text.startswith("Expires soon as bob@contoso.example")
    assert f"The sign-in expires on {when.day} December {when.year}, {when:%H:%M} GMT." in text
    assert "Only Bob Teammate can renew it: Reconnect in their own Setup" in text
    german = _health_text(client.get("/setup/team/", HTTP_ACCEPT_LANGUAGE="de"), teammate.email)
    assert german.startswith("Läuft bald ab")
    assert f"Die Anmeldung läuft am {when.day}. Dezember {when.year}, {when:%H:%M} GMT ab." in (
        german
    )

    # Outside the warning window (14 days): connected, with its date, and nothing to do.
    CalendarConnection.objects.filter(pk=connection.pk).update(
        refresh_expires_at=timezone.now() + timedelta(days=40)
    )
    text = _health_text(client.get("/setup/team/"), teammate.email)
    assert text.startswith("Connected as bob@contoso.example valid until")
    assert "Only Bob" not in text


def _failed(calendar, subject: str, error: ProviderError, at: datetime) -> None:
    row = PushedEvent.objects.create(
        host=calendar.connection.host,
        calendar=calendar,
        source=f"booking:{subject}",
        payload=EventDescription.from_json(
            {
                "subject": subject,
                "start": "2026-12-10T09:00:00+00:00",
                "end": "2026-12-10T09:30:00+00:00",
                "time_zone": "UTC",
            }
        ).to_json(),
        state=PushState.FAILED,
        last_error=error_stored(error, provider_key="office365"),
    )
    PushedEvent.objects.filter(pk=row.pk).update(updated_at=at)


def test_failed_pushes_say_how_many_the_latest_reason_and_that_the_member_retries(
    client, org, host, teammate
):
    # Team showed "2 failed pushes" and nothing else: not why, nor who can retry.
    calendar = connect(teammate, "bob@contoso.example")
    _failed(calendar, "Older", ProviderError("busy", status=429, code="TooManyRequests"), SINCE)
    _failed(
        calendar,
        "Newer",
        ProviderError("no mailbox", status=404, code="MailboxNotEnabledForRESTAPI"),
        SINCE + timedelta(hours=1),
    )
    client.force_login(host)

    answer = client.get("/setup/team/")
    text = _health_text(answer, teammate.email)
    assert "2 bookings did not reach Bob Teammate's calendar." in text
    assert "Latest: Office 365 cannot open this account's mailbox" in text
    assert (
        "Bob Teammate can send them again with Retry in their own Setup → Calendar "
        "integration (after reconnecting, if it is disconnected); an admin cannot retry for "
        "them." in text
    )
    # The admin is offered no Retry of their own (the member's rows are the member's).
    assert "/calendar/pushes/" not in answer.content.decode()

    german = _health_text(client.get("/setup/team/", HTTP_ACCEPT_LANGUAGE="de"), teammate.email)
    assert "2 Buchungen sind nicht im Kalender von Bob Teammate angekommen." in german
    assert "Zuletzt: Office 365 kann das Postfach" in german
    assert "„Erneut versuchen“" in german
