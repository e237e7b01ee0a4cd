"""Times and dates in the invitee's locale, stored with the booking, on every page and email."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from booking.clock import repeated_offset
from booking.locales import day_text, normalize_locale, request_locale, span_text, time_text
from booking.models import Booking
from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
THREE_PM = datetime(2026, 12, 7, 15, 0, tzinfo=NEW_YORK)
HALF_PAST = datetime(2026, 12, 7, 15, 30, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "Monday, December 7, 2026, 3:00 PM \N{EN DASH} 3:30 PM"),
        ("en-GB", "Monday, 7 December 2026, 15:00 \N{EN DASH} 15:30"),
        ("de-DE", "Montag, 7. Dezember 2026, 15:00 \N{EN DASH} 15:30"),
    ],
)
def test_one_style_per_locale(locale, expected):
    assert span_text(THREE_PM, HALF_PAST, locale) == expected


def test_a_repeated_hour_keeps_its_offset_in_every_locale():
    repeated = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)
    assert time_text(repeated, "en-US") == "1:30 AM (UTC\N{MINUS SIGN}5)"
    assert time_text(repeated, "de-DE") == "01:30 (UTC\N{MINUS SIGN}5)"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en-gb", "en-GB"),
        ("de", "de-DE"),
        ("de_AT", "de-AT"),
        ("en", "en-US"),
        ("en-ZZ", "en-US"),
        ("fr-FR", None),
        ("", None),
        ("en-US; DROP TABLE", None),
    ],
)
def test_locales_are_normalized_or_refused(tag, expected):
    assert normalize_locale(tag) == expected


def test_the_request_locale_is_the_page_language_with_the_browsers_region(rf):
    request = rf.get("/", headers={"accept-language": "en-GB,en;q=0.8"})
    request.LANGUAGE_CODE = "en"
    assert request_locale(request) == "en-GB"
    request = rf.get("/", headers={"accept-language": "fr-FR,de;q=0.5"})
    request.LANGUAGE_CODE = "de"
    assert request_locale(request) == "de-DE"
    request = rf.get("/", headers={"accept-language": "en-GB"})
    request.LANGUAGE_CODE = "de"  # ?lang=de on an English browser
    assert request_locale(request) == "de-DE"


@pytest.mark.usefixtures("email_tasks_in_process")
def test_a_german_invitee_gets_german_pages_and_emails(
    client, page, django_capture_on_commit_callbacks
):
    start = at(workday("Europe/London"), 14)
    with django_capture_on_commit_callbacks(execute=True):
        answer = book(client, page.slug, start=start, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert answer.status_code == 201
    booking = Booking.objects.get()
    assert booking.invitee_locale == "de-DE"
    local = booking.start.astimezone(ZoneInfo("Europe/Paris"))
    # The link opened anywhere (no Accept-Language) reads in the invitee's language.
    confirmation = client.get(answer["Location"]).text
    assert 'lang="de"' in confirmation
    assert "Bestätigt" in confirmation
    assert day_text(local, "de-DE") in confirmation
    assert f"{local:%H:%M} \N{EN DASH}" in confirmation
    invitee_mail = next(m for m in mail.outbox if m.to == ["dana@example.com"])
    assert invitee_mail.subject.startswith("Bestätigt:")
    assert day_text(local, "de-DE") in invitee_mail.body
    assert "Verschieben:" in invitee_mail.body
    host_mail = next(m for m in mail.outbox if m.to == [page.host.email])
    assert host_mail.subject.startswith("Confirmed:")
    english = client.get(answer["Location"] + "?lang=en").text
    assert "Confirmed" in english


def test_a_us_invitee_reads_twelve_hour_times_a_british_one_twenty_four(client, page):
    start = at(workday("Europe/London"), 14)
    us = book(client, page.slug, start=start, timezone="Europe/London", locale="en-US")
    assert us.status_code == 201
    assert "2:00 PM \N{EN DASH} 2:30 PM" in client.get(us["Location"]).text
    later = at(workday("Europe/London"), 15)
    gb = book(
        client,
        page.slug,
        start=later,
        timezone="Europe/London",
        email="eve@example.com",
        HTTP_ACCEPT_LANGUAGE="en-GB",
    )
    assert gb.status_code == 201
    assert "15:00 \N{EN DASH} 15:30" in client.get(gb["Location"]).text


def test_an_unsupported_locale_is_a_clear_400(client, page):
    answer = book(client, page.slug, start=at(workday("Europe/London"), 14), locale="fr-FR")
    assert answer.status_code == 400
    assert "locale" in answer.json()["errors"]


def test_the_booking_page_tells_its_script_the_locale_and_words(client, page):
    german = client.get(f"/book/{page.slug}/", headers={"accept-language": "de-AT"}).text
    script = german.split('id="booker-config" type="application/json">')[1]
    config = json.loads(script.split("<")[0])
    assert config["locale"] == "de-AT"
    assert config["strings"]["booking"] == "Buchung läuft…"
    assert '<abbr title="Montag">M</abbr>' in german


@pytest.mark.parametrize("locale", ["en-US", "en-GB", "en-IN", "de-DE", "de-AT", "de-CH"])
@pytest.mark.parametrize(
    "zone", ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
)
def test_days_and_times_read_as_babel_writes_them(locale, zone):
    """The kept texts (``booking.locales``) are Babel's own for every moment: across a
    year, both clock changes, half-hour zones and every locale's clock."""
    from babel import Locale
    from babel.dates import format_date, format_time

    babel = Locale.parse(locale.replace("-", "_"))
    moment = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    for minutes in range(0, 366 * 24 * 60, 131):
        local = (moment + timedelta(minutes=minutes)).astimezone(ZoneInfo(zone))
        clock = format_time(local, format="short", locale=babel).replace("\u202f", " ")
        assert time_text(local, locale) == clock + repeated_offset(local)
        assert day_text(local, locale) == format_date(local, format="full", locale=babel)


def test_a_day_or_a_time_already_written_is_not_asked_of_babel_again(monkeypatch):
    """Each booking email names its day and times two or three times, and the next booking
    is often on the same day or at the same time: Babel writes each once per process."""
    import babel.dates

    asked = []
    for name in ("format_date", "format_time"):
        real = getattr(babel.dates, name)
        monkeypatch.setattr(
            f"booking.locales.{name}",
            lambda *args, _real=real, _name=name, **kwargs: (
                asked.append(_name) or _real(*args, **kwargs)
            ),
        )
    first = datetime(2031, 3, 4, 9, 45, 17, tzinfo=NEW_YORK)  # no other test writes it
    span_text(first, first + timedelta(minutes=30), "en-US")
    assert sorted(asked) == ["format_date", "format_time", "format_time"]
    asked.clear()
    span_text(first, first + timedelta(minutes=30), "en-US")
    day_text(first + timedelta(hours=1), "en-US")  # the same day, an hour later
    time_text(first.replace(day=5), "en-US")  # the next day, at the same time
    assert asked == []
