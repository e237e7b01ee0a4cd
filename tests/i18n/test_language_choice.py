"""Which language a page is in: the browser's, a host's Profile choice, ?lang= on public pages."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_browsers_language_is_used(client):
    german = client.get("/accounts/login/", headers={"accept-language": "de-DE,de;q=0.9"})
    assert 'lang="de"' in german.text
    assert "Zum Inhalt springen" in german.text
    english = client.get("/accounts/login/", headers={"accept-language": "en-US"})
    assert 'lang="en"' in english.text
    assert "Skip to content" in english.text


def test_an_unshipped_language_falls_back_to_english(client):
    page = client.get("/accounts/login/", headers={"accept-language": "fr-FR"})
    assert "Skip to content" in page.text


def test_a_hosts_profile_language_wins_over_the_browser(host_client, host):
    host.language = "de"
    host.save()
    page = host_client.get("/setup/profile/", headers={"accept-language": "en-US"})
    assert 'lang="de"' in page.text
    assert page.headers["Content-Language"] == "de"


def test_the_profile_saves_the_language(host_client, host):
    answer = host_client.post(
        "/setup/profile/", {"name": "Alice Host", "time_zone": "Europe/London", "language": "de"}
    )
    assert answer.status_code == 302
    host.refresh_from_db()
    assert host.language == "de"


def test_lang_in_the_query_is_honoured_on_public_pages_only(client, host):
    from booking.services.pages import page_create

    page_create(host=host, fields={"title": "Intro call", "slug": "intro"})
    public = client.get("/book/intro/?lang=de", headers={"accept-language": "en-US"})
    assert 'lang="de"' in public.text
    login = client.get("/accounts/login/?lang=de", headers={"accept-language": "en-US"})
    assert 'lang="en"' in login.text
    assert "sessionid" not in public.cookies
    assert "django_language" not in public.cookies


def test_setup_speaks_german_to_a_host_who_chose_it(host_client, host):
    host.language = "de"
    host.save()
    pages = host_client.get("/setup/booking-pages/").text
    assert "Neue Buchungsseite" in pages
    integration = host_client.get("/setup/integration/calendar/").text
    assert "Kalenderintegration" in integration
    login = host_client.get("/accounts/logout/").text
    assert "Abmelden?" in login


def test_a_visitor_without_a_session_is_not_looked_up_and_a_host_still_is(
    host_client, host, monkeypatch
):
    """The host's choice needs the logged-in user; a request without a session cookie has
    none, so ``ops.language`` does not load it (the session, user and device lookups)."""
    from django.contrib import auth
    from django.test import Client

    looked_up = []
    get_user = auth.get_user
    monkeypatch.setattr(auth, "get_user", lambda request: looked_up.append(1) or get_user(request))
    host.language = "de"
    host.save()
    answer = Client().post(
        "/api/booking-pages/no-such-page/bookings",
        data="{}",
        content_type="application/json",
        headers={"accept-language": "en-US"},
    )
    assert answer.status_code == 404
    assert answer.headers["Content-Language"] == "en"
    assert looked_up == []
    # The same answer to the logged-in host (session cookie sent) is in the host's language.
    page = host_client.get("/setup/profile/", headers={"accept-language": "en-US"})
    assert page.headers["Content-Language"] == "de"
    assert looked_up
