"""Connecting a calendar in German: the pages after Microsoft's sign-in, what Setup says
about it afterwards, and a calendar's stored sync error, all without English left in."""

from __future__ import annotations

import json

import pytest

from calendars.error_text import error_shown, error_stored
from calendars.models import Calendar, PushedEvent, PushState
from calendars.providers import ProviderError
from calendars.services.push import UNFINISHED
from calendars.services.subscriptions import FULL, NOT_VALIDATED
from calendars.sign_in_handoff import handoff_expect
from tests.calendars.test_lobby import CALLBACK, CONNECT, LOBBY, answer, start, text
from tests.i18n.test_no_english_in_german import english_messages, english_on

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


@pytest.fixture
def german_host(host):
    host.language = "de"
    host.save()
    return host


def no_english(response) -> None:
    html = response.content.decode()
    assert 'lang="de"' in html
    assert english_on(html, english_messages()) == []


def test_the_pages_between_microsoft_and_setup_speak_german(client):
    # Started under another host name: the answer is parked and the browser sent there.
    handoff_expect(state="started-elsewhere", origin="http://other.example")
    handoff = client.post(CALLBACK, {"code": "c", "state": "started-elsewhere"}, **GERMAN)
    # Microsoft's cross-site POST without the session cookie: posted again from here.
    resubmit = client.post(CALLBACK, {"code": "c", "state": "s"}, **GERMAN)
    # Posted again, still no session: not logged in here.
    logged_out = client.post(CALLBACK, {"code": "c", "state": "s", "resubmitted": "1"}, **GERMAN)

    assert "Ihre Anmeldung bei Office 365 wird abgeschlossen" in text(handoff)
    assert "Sie haben sie auf other.example begonnen" in text(handoff)
    assert "Wenn nichts passiert, klicken Sie auf Weiter." in text(resubmit)
    assert logged_out.status_code == 403
    assert "Ihre Anmeldung bei Office 365 wurde nicht gespeichert" in text(logged_out)
    assert "Anmelden und neu verbinden" in text(logged_out)
    for response in (handoff, resubmit, logged_out):
        no_english(response)


def test_what_setup_says_after_the_sign_in_is_german(client, german_host, fake_microsoft):
    client.force_login(german_host)
    query = start(client, fake_microsoft)
    back = answer(client, query)
    Calendar.objects.update(name="Arbeit")  # Microsoft's names are the host's, not ours
    connected = client.get(back["Location"])
    assert "Office 365 als alice@contoso.com verbunden: 2 Kalender importiert." in text(connected)
    no_english(connected)

    replayed = client.post(CALLBACK, {"code": "again", "state": query["state"]}, follow=True)
    assert "gehört zu keiner Anmeldung, die Sie hier begonnen haben" in text(replayed)
    no_english(replayed)

    again = client.post(CONNECT, follow=True)
    assert "Sie sind mit Office 365 als alice@contoso.com verbunden." in text(again)
    no_english(again)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            {"error": "access_denied", "error_subcode": "cancel"},
            "Sie haben die Anmeldung bei Microsoft abgebrochen.",
        ),
        ({"error": "access_denied"}, "Sie haben die Erlaubnis zum Verbinden nicht erteilt."),
        (
            {"error": "interaction_required", "error_description": "AADSTS50076: MFA."},
            "einen zweiten Anmeldeschritt, den Ihre Organisation verlangt "
            "(interaction_required, AADSTS50076)",
        ),
        (
            {"error": "temporarily_unavailable"},
            "Der Anmeldedienst von Microsoft hatte ein Problem (temporarily_unavailable).",
        ),
        (
            {"error": "invalid_request", "error_description": "AADSTS50020: not in tenant."},
            "Microsoft konnte Sie nicht anmelden (invalid_request, AADSTS50020).",
        ),
    ],
    ids=["cancel", "declined", "interaction", "unavailable", "other"],
)
def test_what_microsoft_answered_at_sign_in_reads_in_german(
    client, german_host, fake_microsoft, fields, words
):
    client.force_login(german_host)
    query = start(client, fake_microsoft)
    response = client.post(CALLBACK, {**fields, "state": query["state"]}, follow=True)
    assert words in text(response)
    assert "Es wurde nichts geändert." in text(response)
    no_english(response)


def test_a_refused_redemption_reads_in_german(client, german_host, fake_microsoft):
    fake_microsoft.code_refusal = {
        "error": "invalid_grant",
        "error_description": "AADSTS70008: The provided authorization code has expired.",
        "error_codes": [70008],
    }
    client.force_login(german_host)
    query = start(client, fake_microsoft)
    back = answer(client, query)
    page = client.get(back["Location"])
    assert "Microsoft hat die Anmeldung abgelehnt: invalid_grant (AADSTS70008)." in text(page)
    no_english(page)


def test_a_sync_error_is_kept_as_facts_and_read_in_the_readers_language(client, german_host):
    from calendars.models import CalendarConnection

    connection = CalendarConnection.objects.create(
        host=german_host, provider="office365", account_id="u.t", account_email="a@contoso.com"
    )
    throttled = error_stored(
        ProviderError("Too many requests", status=429), provider_key="office365"
    )
    assert "busy" not in throttled  # facts, not English words
    assert json.loads(throttled)["status"] == 429
    Calendar.objects.create(
        connection=connection,
        remote_id="A",
        name="Arbeit",
        is_default=True,
        busy_horizon_days=30,
        last_sync_error=throttled,
    )
    client.force_login(german_host)

    page = client.get(LOBBY)

    assert "Microsoft war ausgelastet (gedrosselt)." in text(page)
    no_english(page)
    assert error_shown(throttled) == "Microsoft was busy (throttled)"


@pytest.mark.parametrize(
    "error",
    [
        ProviderError("gone", permanent=True, code="invalid_grant", status=400),
        ProviderError("down", status=503, code="ServiceUnavailable"),
        ProviderError("bad", status=400, code="ErrorInvalidRequest"),
        ProviderError("dropped", code="ConnectionError"),
        ProviderError("AADSTS65004: The user declined.", for_host=True, code="access_denied"),
    ],
)
def test_stored_facts_read_as_the_words_of_the_error_itself(error):
    from calendars.error_text import error_in_plain_words
    from calendars.providers import get_provider

    provider = get_provider("office365")
    assert error_shown(error_stored(error, provider_key="office365")) == error_in_plain_words(
        error, provider=provider
    )


@pytest.mark.parametrize(
    "kept",
    ["Office 365 no longer lets us write to (or read) this calendar", "{not json", ""],
)
def test_text_kept_before_facts_reads_as_it_was_kept(kept):
    assert error_shown(kept) == kept


@pytest.mark.parametrize(
    ("kept", "german"),
    [
        (
            error_stored(ProviderError("down", status=503), provider_key="office365"),
            "Der Kalenderdienst von Microsoft war nicht erreichbar (503)",
        ),
        (UNFINISHED, "Die Versuche davor wurden nie abgeschlossen"),
    ],
)
def test_a_failed_push_reads_in_the_readers_language(
    client, german_host, alices_things, kept, german
):
    from booking.models import Booking

    page, _connection, _links = alices_things
    booking = Booking.objects.get(page=page)
    rows = PushedEvent.objects.filter(source=booking.mirror_source)
    assert rows.update(state=PushState.FAILED, last_error=kept) == 1
    client.force_login(german_host)

    for url in (LOBBY, f"/setup/meetings/{booking.pk}/"):
        page_text = text(client.get(url))
        assert german in page_text or german[0].lower() + german[1:] in page_text, url


@pytest.mark.parametrize(
    ("state", "german"),
    [
        (
            {"last_token_error": "timeout", "calendars_skipped": 3},
            [
                "Beim letzten Versuch, diese Verbindung zu erneuern, konnten wir Office 365",
                "werden nicht unterstützt: 3 übersprungen",
            ],
        ),
        (
            {"status": "disconnected", "disconnect_reason": "host"},
            ["Sie haben dieses Konto getrennt.", "Zuvor verbunden als a@contoso.com."],
        ),
        (
            {"status": "disconnected", "disconnect_reason": "expired"},
            ["Getrennt: ", "Zuvor verbunden als a@contoso.com."],
        ),
    ],
)
def test_the_calendar_integration_page_speaks_german_in_every_state(
    client, german_host, state, german
):
    from calendars.models import CalendarConnection

    CalendarConnection.objects.create(
        host=german_host,
        provider="office365",
        account_id="u.t",
        account_email="a@contoso.com",
        **state,
    )
    client.force_login(german_host)
    page = client.get(LOBBY)
    for words in german:
        assert words in text(page)
    no_english(page)


def test_a_button_address_opened_directly_says_so_in_german(client, german_host):
    client.force_login(german_host)
    answer = client.get(CONNECT)
    assert answer.status_code == 405
    assert "Diese Adresse funktioniert nur über ihre Schaltfläche" in text(answer)
    no_english(answer)


@pytest.mark.parametrize(
    ("error", "about", "german"),
    [
        (
            ProviderError("Maximum number of subscriptions reached", status=403),
            FULL,
            "das Postfach hat bereits so viele Abonnements",
        ),
        (
            ProviderError("Subscription validation request failed", status=400),
            NOT_VALIDATED,
            "Microsoft konnte unsere Benachrichtigungsadresse",
        ),
        (ProviderError("busy", status=429), "", "Microsoft war ausgelastet (gedrosselt)"),
    ],
)
def test_a_failing_subscription_reads_in_the_readers_language(
    german_host, settings, error, about, german
):
    from django.utils import translation

    from calendars.models import CalendarConnection, ChangeSubscription
    from calendars.services.subscriptions import notification_status_for

    settings.DEBUG = True  # a local SITE_URL may subscribe (as in development)
    settings.CALENDAR_NOTIFICATIONS = True
    connection = CalendarConnection.objects.create(
        host=german_host, provider="office365", account_id="u.t", account_email="a@contoso.com"
    )
    ChangeSubscription.objects.create(
        connection=connection,
        last_error=error_stored(error, provider_key="office365", about=about),
    )
    with translation.override("de"):
        status = notification_status_for(connection=connection, busy=True)
    assert status.state == "failing"
    assert german in status.reason
    with translation.override("en"):
        english = notification_status_for(connection=connection, busy=True).reason
    assert english != status.reason


@pytest.mark.parametrize("message", ['"\\' * 400, "申" * 600, "x" * 2000])
def test_a_long_message_from_the_provider_is_kept_whole_as_facts(message):
    from calendars.error_text import MAX_STORED

    error = ProviderError(message, for_host=True, status=400, code="invalid_request")
    stored = error_stored(error, provider_key="office365")
    assert len(stored) <= MAX_STORED
    assert message.startswith(json.loads(stored)["message"])
    assert error_shown(stored).startswith(json.loads(stored)["message"][:10])
