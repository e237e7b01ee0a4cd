"""Every email speaks its reader's language: invitees the booking's, hosts their Profile's."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from booking.emails import send_reschedule_request
from booking.locales import day_text, time_text
from booking.models import Booking, InviteeReminder
from booking.reminders import reminder_send
from booking.tokens import booking_token
from calendars import notifications
from calendars.models import CalendarConnection, DisconnectReason
from tests.support.booking import at, book, workday


def _german_booking(client, page) -> Booking:
    start = at(workday("Europe/London", days_ahead=3), 14)
    answer = book(client, page.slug, start=start, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert answer.status_code == 201
    booking = Booking.objects.get()
    assert booking.invitee_locale == "de-DE"
    return booking


@pytest.mark.django_db
def test_a_german_invitees_reminder_is_german(client, page):
    booking = _german_booking(client, page)
    mail.outbox.clear()
    row = InviteeReminder.objects.filter(booking=booking).order_by("offset_minutes").first()
    reminder_send(reminder_id=row.pk, now=row.due_at)
    (message,) = mail.outbox
    local = booking.start.astimezone(ZoneInfo(booking.invitee_time_zone))
    assert message.subject.startswith("Erinnerung: Intro call mit Alice Host am ")
    assert "Zur Erinnerung: Ihr Termin mit Alice Host beginnt am" in message.body
    assert day_text(local, "de-DE") in message.body
    assert time_text(local, "de-DE") in message.body
    assert "Verschieben:" in message.body
    for english in ("Reminder", "What:", "Need to change it?", "Reschedule:"):
        assert english not in message.body + message.subject


@pytest.mark.django_db
def test_a_german_invitee_is_asked_to_reschedule_in_german(client, page):
    booking = _german_booking(client, page)
    mail.outbox.clear()
    assert send_reschedule_request(booking_pk=booking.pk, note="")
    (message,) = mail.outbox
    assert message.subject.startswith("Alice Host bittet Sie, eine andere Zeit für Intro call")
    assert "Andere Zeit wählen:" in message.body
    assert "Pick another time" not in message.body


def _connection(host, **fields) -> CalendarConnection:
    return CalendarConnection.objects.create(
        host=host,
        provider="office365",
        account_id="uid.tid",
        account_email="alice@contoso.com",
        **fields,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "subject", "body"),
    [
        ("de", "läuft in 3 Tagen ab", "Jetzt neu verbinden"),
        ("", "expires in 3 days", "Reconnect now"),
    ],
)
def test_the_expiry_warning_speaks_the_hosts_profile_language(host, language, subject, body):
    host.language = language
    host.save(update_fields=["language"])
    now = timezone.now()
    connection = _connection(host, refresh_expires_at=now + timedelta(days=3))
    notifications.send_expiry_warning(connection=connection, now=now)
    (message,) = mail.outbox
    assert subject in message.subject
    assert body in message.body
    html = message.alternatives[0][0]
    assert f'lang="{language or "en"}"' in html


@pytest.mark.django_db
def test_the_disconnected_email_speaks_the_hosts_profile_language(host):
    host.language = "de"
    host.save(update_fields=["language"])
    connection = _connection(host, disconnect_reason=DisconnectReason.EXPIRED)
    notifications.send_disconnected(connection_id=connection.pk)
    (message,) = mail.outbox
    assert message.subject == "Ihr Office 365-Kalender wurde getrennt"
    assert "funktioniert nicht mehr: die Anmeldung ist abgelaufen." in message.body
    assert "Hallo Alice," in message.body


@pytest.mark.django_db
def test_the_password_reset_email_speaks_the_accounts_language(client, host):
    host.language = "de"
    host.save(update_fields=["language"])
    url = reverse("accounts:password_reset")
    client.post(url, {"email": host.email}, HTTP_ACCEPT_LANGUAGE="en")
    (message,) = mail.outbox
    assert message.subject == "Ihr ScheduleOnce-Passwort zurücksetzen"
    assert "Wählen Sie hier ein neues Passwort:" in message.body


@pytest.mark.django_db
def test_setup_fragments_with_values_are_german(client, page):
    host = page.host
    host.language = "de"
    host.save(update_fields=["language"])
    _connection(host, refresh_expires_at=timezone.now() + timedelta(days=80))
    client.force_login(host)
    listing = client.get(reverse("pages:list")).text
    assert f"{page.duration_minutes} Minuten ·" in listing
    assert "minutes ·" not in listing
    integration = client.get(reverse("calendars:integration")).text
    assert "gültig bis" in integration
    assert "valid until" not in integration


@pytest.mark.django_db
def test_the_page_form_is_german_for_a_german_host(client, page):
    host = page.host
    host.language = "de"
    host.save(update_fields=["language"])
    client.force_login(host)
    new = client.get(reverse("pages:create")).text
    assert "Neue Buchungsseite" in new
    assert "Buchungsseite anlegen" in new
    assert "Leave empty" not in new
    edit = client.get(reverse("pages:edit", args=[page.pk])).text
    assert "Änderungen speichern" in edit
    assert "Save changes" not in edit


@pytest.mark.django_db
def test_setup_dates_read_as_german_dates(client, page):
    from datetime import UTC, datetime

    from django.utils import translation

    from calendars.providers import get_provider
    from calendars.selectors import live_updates_words
    from calendars.services.subscriptions import NotificationStatus

    host = page.host
    host.language = "de"
    host.save(update_fields=["language"])
    expires = datetime(2027, 3, 6, 12, 0, tzinfo=UTC)
    _connection(host, refresh_expires_at=expires)
    client.force_login(host)
    integration = client.get(reverse("calendars:integration")).text
    assert "6. März 2027" in integration
    status = NotificationStatus(state="live", until=datetime(2026, 12, 9, 16, 9, tzinfo=UTC))
    with translation.override("de"):
        words = live_updates_words(status, provider=get_provider("office365"), time_zone="UTC")
    assert "gültig bis 9. Dez 16:09" in words
    with translation.override("en"):
        words = live_updates_words(status, provider=get_provider("office365"), time_zone="UTC")
    assert "current until 09 Dec 16:09" in words


@pytest.mark.django_db
def test_team_meetings_and_token_dates_read_as_german_dates(client, page):
    # The team page, a meeting's page and the API tokens list wrote '6 März 2027' and
    # '6 Dez 2026, 14:05' (no period after the day) for a German host.
    from datetime import UTC, datetime

    from accounts.services import organization_create_for
    from integrations.models import ApiToken
    from integrations.tokens import token_create

    host = page.host
    host.language, host.time_zone = "de", "UTC"
    host.save(update_fields=["language", "time_zone"])
    organization_create_for(user=host, name="Contoso")
    _connection(host, refresh_expires_at=datetime(2027, 3, 6, 12, 0, tzinfo=UTC))
    booking = _german_booking(client, page)
    made = datetime(2026, 12, 6, 14, 5, tzinfo=UTC)
    Booking.objects.filter(pk=booking.pk).update(created_at=made)
    token, _value = token_create(owner=host, name="CRM")
    ApiToken.objects.filter(pk=token.pk).update(created_at=made)
    client.force_login(host)
    assert "gültig bis 6. März 2027" in client.get(reverse("team:home")).text
    detail = client.get(reverse("meetings:detail", args=[booking.pk])).text
    assert "6. Dezember 2026, 14:05" in detail
    assert "6. Dez 2026 14:05" in client.get(reverse("integrations:tokens")).text


@pytest.mark.django_db
@pytest.mark.usefixtures("email_tasks_in_process")
def test_a_german_invitees_calendar_file_names_the_meeting_in_german(
    client, page, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        booking = _german_booking(client, page)
    invitee_mail = next(m for m in mail.outbox if m.to == [booking.invitee_email])
    attached = icalendar.Calendar.from_ical(invitee_mail.attachments[0][1])
    assert str(attached.walk("VEVENT")[0]["SUMMARY"]) == "Intro call mit Alice Host"
    host_mail = next(m for m in mail.outbox if m.to == [page.host.email])
    host_event = icalendar.Calendar.from_ical(host_mail.attachments[0][1]).walk("VEVENT")[0]
    assert str(host_event["SUMMARY"]) == "Intro call with Dana Invitee"  # Alice reads English
    token = booking_token(booking)
    download = client.get(reverse("booking:ics", args=[token]), HTTP_ACCEPT_LANGUAGE="de-DE")
    event = icalendar.Calendar.from_ical(download.content).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Intro call mit Alice Host"
