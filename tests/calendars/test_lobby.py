"""Setup → Integration → Calendar integration, as a host uses it (Microsoft faked at HTTP)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from calendars.events import EventDescription
from calendars.models import (
    Calendar,
    CalendarConnection,
    ConnectionStatus,
    DisconnectReason,
    PushedEvent,
    PushState,
)
from calendars.services.busy_sync import connection_sync
from calendars.services.connections import connection_set_reminder
from calendars.signals import calendars_changed, connection_established
from tests.support.interleave import selects_from, write_after_query
from tests.support.microsoft import INVALID_GRANT_70008

pytestmark = pytest.mark.django_db

LOBBY = reverse("calendars:integration")
CONNECT = reverse("calendars:office365_connect")
CALLBACK = reverse("calendars:office365_callback")


@pytest.fixture
def signals():
    seen = []

    def on_established(sender, connection, new_account, **kwargs):
        seen.append(("established", connection.pk, new_account))

    def on_changed(sender, connection, **kwargs):
        seen.append(("changed", connection.pk))

    connection_established.connect(on_established, weak=False)
    calendars_changed.connect(on_changed, weak=False)
    yield seen
    connection_established.disconnect(on_established)
    calendars_changed.disconnect(on_changed)


def start(client, fake, **data) -> dict[str, str]:
    """Press Connect; returns the authorize URL's query (and primes the fake's nonce)."""
    response = client.post(CONNECT, data)
    assert response.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    fake.nonce_hash = query["nonce"]
    return query


def answer(client, query, **fields):
    """Microsoft's form_post to the callback."""
    return client.post(CALLBACK, {"code": "M.C507_BAY.2.U.code", "state": query["state"], **fields})


def text(response) -> str:
    """What a person reads: tags dropped, white space collapsed."""
    return text_of(response.content.decode())


def text_of(markup: str) -> str:
    # A line-break opportunity (<wbr>, in an account address) is no space on screen.
    words = re.sub(r"<[^>]+>", " ", markup.replace("<wbr>", ""))
    return re.sub(r"\s+", " ", unescape(words)).replace(" .", ".").replace(" :", ":")


def test_the_lobby_offers_office365_in_a_new_tab_with_a_same_tab_fallback(host_client):
    page = host_client.get(LOBBY).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" target="_blank"', page)
    assert form.group(1) == CONNECT
    assert 'formtarget="_self"' in page
    assert "one calendar connection at a time" in page


def test_connect_sends_the_host_to_microsoft_with_pkce_and_form_post(host_client, fake_microsoft):
    query = start(host_client, fake_microsoft)
    assert set(query["scope"].split()) == {
        "offline_access",
        "openid",
        "profile",
        "User.Read",
        "Calendars.ReadWrite",
    }
    assert query["response_mode"] == "form_post"
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == settings.SITE_URL + CALLBACK


def test_the_callback_connects_and_the_lobby_shows_account_calendars_and_expiry(
    host_client, fake_microsoft, signals, django_capture_on_commit_callbacks
):
    query = start(host_client, fake_microsoft)
    with django_capture_on_commit_callbacks(execute=True):
        response = answer(host_client, query)
    assert response.status_code == 302
    lobby = host_client.get(response["Location"])
    page, markup = text(lobby), lobby.content.decode()
    connection = CalendarConnection.objects.get()
    assert "Connected Office 365 as alice@contoso.com: 2 calendars imported." in page
    expiry = connection.refresh_expires_at.astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/London")
    )
    assert f"Connected as alice@contoso.com · valid until {expiry:%-d %B %Y}" in page
    assert re.search(r'>Calendar</span>\s*<span class="badge">Default</span>', markup)
    assert "Client work" in page
    # Skipped calendars are named, with whose they are, never offered.
    assert "resource (room) calendars are not supported, so these were skipped:" in page
    assert "Bob's calendar (bob@contoso.com)" in page
    assert "Room 4.12 (room412@contoso.com)" in page
    offered = lobby_calendar_list(markup)
    assert "Client work" in offered
    assert "Bob's calendar" not in offered
    assert "Room 4.12" not in offered
    assert '<option value="15" selected>15 minutes</option>' in markup
    assert signals == [("changed", connection.pk), ("established", connection.pk, True)]


def lobby_calendar_list(markup: str) -> str:
    return re.search(r'<ul class="calendar-list".*?</ul>', markup, re.S).group(0)


def test_right_after_a_first_connect_the_lobby_says_what_the_default_calendar_will_do(
    host_client, fake_microsoft, django_capture_on_commit_callbacks
):
    """A new host connects before making any booking page: no page reads busy time yet,
    but the default calendar becomes the main booking calendar of every page made."""
    with django_capture_on_commit_callbacks(execute=True):
        answer(host_client, start(host_client, fake_microsoft))
    listed = text_of(lobby_calendar_list(host_client.get(LOBBY).content.decode()))

    default = listed.split("Client work")[0]
    assert "Calendar Default" in default
    assert "Not used for busy time" not in default
    assert "Main booking calendar of new booking pages" in default
    assert "Client work Not used for busy time" in listed


def test_a_replayed_or_foreign_state_changes_nothing(host_client, fake_microsoft):
    query = start(host_client, fake_microsoft)
    answer(host_client, query)
    connection = CalendarConnection.objects.get()
    stored = connection.token_cache

    replay = host_client.post(CALLBACK, {"code": "another", "state": query["state"]}, follow=True)
    forged = host_client.post(CALLBACK, {"code": "x", "state": "not-ours"}, follow=True)
    nul = host_client.post(CALLBACK, {"code": "\x00", "state": "\x00"}, follow=True)  # was a 500

    # A hand-over handle that is not ours ("²" is a digit to isdigit(), not to int()).
    handle = host_client.get(CALLBACK, {"handoff": "²-abc"}, follow=True)

    for response in (replay, forged, nul, handle):
        assert "does not belong to a sign-in you started here" in text(response)
        assert "Nothing was changed" in text(response)
    connection.refresh_from_db()
    assert connection.token_cache == stored
    assert CalendarConnection.objects.count() == 1


def test_declined_consent_stores_nothing(host_client, fake_microsoft):
    query = start(host_client, fake_microsoft)
    response = host_client.post(
        CALLBACK,
        {
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
            "state": query["state"],
        },
        follow=True,
    )
    assert "You did not give permission to connect. Nothing was changed." in text(response)
    assert not CalendarConnection.objects.exists()
    assert not [r for r in fake_microsoft.requests if r["grant_type"] == "authorization_code"]


def test_pressing_cancel_at_microsoft_says_so(host_client, fake_microsoft):
    # Microsoft's answer when the person cancels its sign-in page: access_denied with
    # error_subcode=cancel.
    query = start(host_client, fake_microsoft)
    response = host_client.post(
        CALLBACK,
        {"error": "access_denied", "error_subcode": "cancel", "state": query["state"]},
        follow=True,
    )
    assert "You cancelled signing in with Microsoft. Nothing was changed." in text(response)
    assert not CalendarConnection.objects.exists()


def test_an_expired_client_secret_at_sign_in_is_not_blamed_on_the_host(
    host_client, fake_microsoft, caplog
):
    fake_microsoft.code_refusal = {
        "error": "invalid_client",
        "error_description": "AADSTS7000222: The provided client secret keys for app "
        "'11111111-2222-3333-4444-555555555555' are expired.",
        "error_codes": [7000222],
    }
    query = start(host_client, fake_microsoft)
    response = answer(host_client, query)
    page = text(host_client.get(response["Location"]))
    assert "Microsoft refused ScheduleOnce's own sign-in (invalid_client (AADSTS7000222))" in page
    assert "not with your account" in page
    assert "set a new MS_CLIENT_SECRET" in caplog.text
    assert not CalendarConnection.objects.exists()


def test_a_tenant_needing_an_administrators_consent_says_who_must_act(host_client, fake_microsoft):
    # "Need admin approval": the person returns to the app without consent, and
    # Microsoft's answer names AdminConsentRequired (AADSTS90094).
    query = start(host_client, fake_microsoft)
    response = host_client.post(
        CALLBACK,
        {
            "error": "access_denied",
            "error_subcode": "cancel",
            "error_description": "AADSTS90094: The grant requires admin permission.",
            "state": query["state"],
        },
        follow=True,
    )
    page = text(response)
    assert "Ask your Microsoft 365 administrator to grant ScheduleOnce consent" in page
    assert "AADSTS90094" in page
    assert "You did not give permission" not in page
    assert not CalendarConnection.objects.exists()


def test_an_odd_error_from_microsoft_is_never_echoed_to_the_page_or_the_log(
    host_client, fake_microsoft, caplog
):
    caplog.set_level(logging.INFO)
    query = start(host_client, fake_microsoft)
    response = host_client.post(
        CALLBACK,
        {
            "error": "<img src=x onerror=alert(1)>\n2026-01-01 CRITICAL forged line",
            "error_description": "<script>alert(1)</script> AADSTS50020: User account is from "
            "an identity provider that does not exist in the tenant.",
            "state": query["state"],
        },
        follow=True,
    )
    page = text(response)
    assert "Microsoft could not sign you in (unknown_error, AADSTS50020)." in page
    assert "Nothing was changed" in page
    assert "onerror" not in response.content.decode()
    assert "script" not in page
    assert "forged" not in page
    assert "forged" not in caplog.text
    assert not CalendarConnection.objects.exists()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("temporarily_unavailable", "sign-in service had a problem"),
        ("server_error", "sign-in service had a problem"),
        ("interaction_required", "a second sign-in step your organisation asks for"),
    ],
)
def test_errors_from_microsoft_at_sign_in_are_in_plain_words(
    host_client, fake_microsoft, error, words
):
    query = start(host_client, fake_microsoft)
    description = "AADSTS50076: Due to a configuration change you must use multi-factor auth."
    response = host_client.post(
        CALLBACK,
        {"error": error, "error_description": description, "state": query["state"]},
        follow=True,
    )
    assert f"{words} ({error}, AADSTS50076)" in text(response)
    assert not CalendarConnection.objects.exists()


def test_an_error_from_microsoft_at_redemption_stores_nothing(host_client, fake_microsoft):
    fake_microsoft.code_refusal = INVALID_GRANT_70008
    query = start(host_client, fake_microsoft)
    response = answer(host_client, query)
    page = text(host_client.get(response["Location"]))
    assert "AADSTS70008" in page
    assert "Nothing was changed" in page
    assert not CalendarConnection.objects.exists()


def test_a_cross_site_post_without_the_session_cookie_is_posted_again_from_our_origin(
    client, host, fake_microsoft
):
    client.force_login(host)
    query = start(client, fake_microsoft)
    session_cookie = client.cookies.pop("sessionid")  # SameSite=Lax: not sent cross-site

    first = answer(client, query)

    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    page = first.content.decode()
    assert "data-auto-submit" in page
    assert ">Continue</button>" in page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    assert fields == {"code": "M.C507_BAY.2.U.code", "state": query["state"], "resubmitted": "1"}
    assert not CalendarConnection.objects.exists()

    client.cookies["sessionid"] = session_cookie.value  # same-origin POST carries it
    second = client.post(CALLBACK, fields)
    assert second.status_code == 302
    assert CalendarConnection.objects.get().account_email == "alice@contoso.com"


def test_without_any_session_the_callback_asks_to_log_in(client, fake_microsoft):
    response = client.post(CALLBACK, {"code": "c", "state": "s", "resubmitted": "1"})
    assert response.status_code == 403
    assert "Nothing was changed" in text(response)
    assert not CalendarConnection.objects.exists()


def test_connecting_while_connected_says_disconnect_first(host_client, connected, fake_microsoft):
    response = host_client.post(CONNECT, follow=True)
    assert "disconnect it first" in text(response)
    assert response.redirect_chain[-1][0] == LOBBY


def test_a_different_account_while_connected_is_refused_at_the_callback(
    host_client, connected, fake_microsoft
):
    query = start(host_client, fake_microsoft, reconnect="1")
    fake_microsoft.switch_account(
        email="alice@fabrikam.com", oid="11111111-aaaa-bbbb-cccc-999999999999"
    )
    response = answer(host_client, query)
    assert "disconnect it first" in text(host_client.get(response["Location"]))
    assert CalendarConnection.objects.count() == 1


def test_the_reminder_is_saved_per_connection(host_client, connected):
    url = reverse("calendars:reminder", args=[connected.pk])
    page = text(host_client.post(url, {"reminder": "60"}, follow=True))
    assert "Default reminder saved: 1 hour." in page
    connected.refresh_from_db()
    assert connected.default_reminder_minutes == 60
    host_client.post(url, {"reminder": ""})
    connected.refresh_from_db()
    assert connected.default_reminder_minutes is None


def test_a_reminder_that_is_not_offered_is_a_clear_400(host_client, connected):
    url = reverse("calendars:reminder", args=[connected.pk])
    response = host_client.post(url, {"reminder": "7"})
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)
    connected.refresh_from_db()
    assert connected.default_reminder_minutes == 15


def test_refresh_keeps_choices_of_calendars_that_remain(
    host_client, connected, fake_microsoft, signals
):
    default = Calendar.objects.get(connection=connected, is_default=True)
    fake_microsoft.dropped_calendars = {"Client work"}
    fake_microsoft.extra_calendars = [
        {**fake_microsoft.calendars()[1], "id": "AAMkADside=", "name": "Side project"}
    ]
    page = text(host_client.post(reverse("calendars:refresh", args=[connected.pk]), follow=True))
    assert "Calendar list refreshed: 2 calendars." in page
    assert "Side project" in page
    assert "Client work" not in page
    assert Calendar.objects.get(connection=connected, is_default=True).pk == default.pk
    assert not Calendar.objects.get(remote_id="AAMkADwork=").is_active
    assert signals == [("changed", connected.pk)]


def test_refresh_with_tokens_no_key_can_read_says_so_and_changes_nothing(
    host_client, connected, fake_microsoft, settings
):
    # An operator dropped the key these tokens were written with before rotating them.
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    names = set(Calendar.objects.filter(is_active=True).values_list("name", flat=True))

    response = host_client.post(reverse("calendars:refresh", args=[connected.pk]), follow=True)

    assert response.status_code == 200
    assert "stored sign-in could not be read" in text(response)
    assert "Nothing was changed" in text(response)
    assert set(Calendar.objects.filter(is_active=True).values_list("name", flat=True)) == names
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED


def test_disconnect_asks_first_then_keeps_bookings_and_records(host_client, connected):
    calendar = Calendar.objects.get(connection=connected, is_default=True)
    event = EventDescription.from_json(
        {
            "subject": "Intro",
            "start": "2026-12-01T09:00:00+00:00",
            "end": "2026-12-01T09:30:00+00:00",
            "time_zone": "UTC",
        }
    )
    PushedEvent.objects.create(
        host=connected.host, calendar=calendar, source="booking:1", payload=event.to_json()
    )
    url = reverse("calendars:disconnect", args=[connected.pk])
    confirm = text(host_client.get(url))
    assert "Disconnect Office 365?" in confirm
    connected.refresh_from_db()
    assert connected.is_connected

    page = text(host_client.post(url, follow=True))

    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.DISCONNECTED
    assert connected.disconnect_reason == DisconnectReason.HOST
    assert connected.token_cache == ""
    assert Calendar.objects.filter(connection=connected).count() == 2
    assert PushedEvent.objects.get().state == PushState.WAITING
    assert "Disconnected Office 365 (alice@contoso.com)" in page
    assert "Reconnect" in page
    assert "disconnected:" not in page  # the host chose this: no alarm banner


def test_reconnecting_the_same_account_keeps_choices_and_pending_work(
    host_client, connected, fake_microsoft, signals, django_capture_on_commit_callbacks
):
    connected.default_reminder_minutes = 1440
    connected.save()
    calendar = Calendar.objects.get(connection=connected, is_default=True)
    pushed = PushedEvent.objects.create(
        host=connected.host,
        calendar=calendar,
        source="booking:1",
        payload={},
        state=PushState.WAITING,
    )
    from calendars.services.connections import connection_disconnect

    connection_disconnect(connection=connected, reason=DisconnectReason.REVOKED)
    signals.clear()

    with django_capture_on_commit_callbacks(execute=True):
        result = fake_microsoft.connect(connected.host)

    assert result.connection.pk == connected.pk
    assert result.new_account is False
    assert result.connection.default_reminder_minutes == 1440
    assert Calendar.objects.get(connection=connected, is_default=True).pk == calendar.pk
    pushed.refresh_from_db()
    assert pushed.state == PushState.PENDING
    assert signals[-1] == ("established", connected.pk, False)


def test_reconnecting_keeps_what_a_worker_and_another_tab_changed_meanwhile(
    connected, fake_microsoft
):
    lease = timezone.now() + timedelta(seconds=60)

    def meanwhile():
        # A busy-time sync worker takes the connection; the host, in another tab,
        # picks a one-hour reminder.
        CalendarConnection.objects.filter(pk=connected.pk).update(sync_claimed_until=lease)
        connection_set_reminder(
            connection=CalendarConnection.objects.get(pk=connected.pk), minutes=60
        )

    # The reconnect has read the connection's row; the other writes land before it saves.
    row_read = selects_from("calendars_calendarconnection", '"account_id" =')
    with write_after_query(row_read, meanwhile) as interleaved:
        result = fake_microsoft.connect(connected.host, reconnect=True)

    assert interleaved
    assert result.connection.default_reminder_minutes == 60
    connected.refresh_from_db()
    assert connected.is_connected
    assert connected.default_reminder_minutes == 60
    assert connected.sync_claimed_until == lease
    # The worker still holds the connection: a second worker leaves it alone.
    assert connection_sync(connection_id=connected.pk).status == "skipped"


def test_switching_account_after_disconnecting_is_a_new_account(
    host_client, connected, fake_microsoft, signals
):
    host_client.post(reverse("calendars:disconnect", args=[connected.pk]))
    fake_microsoft.switch_account(
        email="alice@fabrikam.com", oid="11111111-aaaa-bbbb-cccc-999999999999"
    )
    result = fake_microsoft.connect(connected.host)
    assert result.connection.pk != connected.pk
    assert result.new_account is True
    assert result.connection.account_email == "alice@fabrikam.com"
    assert signals[-1] == ("established", result.connection.pk, True)


def test_after_switching_accounts_setup_counts_only_the_new_accounts_pushes(
    host_client, connected, fake_microsoft
):
    old_calendar = Calendar.objects.get(connection=connected, is_default=True)
    for state in (PushState.PENDING, PushState.FAILED):
        PushedEvent.objects.create(
            host=connected.host,
            calendar=old_calendar,
            source=f"booking:{state}",
            payload=EventDescription.from_json(
                {
                    "subject": f"Old account {state}",
                    "start": "2026-12-01T09:00:00+00:00",
                    "end": "2026-12-01T09:30:00+00:00",
                    "time_zone": "UTC",
                }
            ).to_json(),
            state=state,
        )
    before = text(host_client.get(LOBBY))
    assert "1 booking update on its way" in before
    assert "Old account failed" in before

    host_client.post(reverse("calendars:disconnect", args=[connected.pk]))
    fake_microsoft.switch_account(
        email="alice@fabrikam.com", oid="11111111-aaaa-bbbb-cccc-999999999999"
    )
    fake_microsoft.connect(connected.host)
    after = text(host_client.get(LOBBY))

    assert "Connected as alice@fabrikam.com" in after
    # The old account's rows can never go out; the lobby does not promise or offer them.
    assert "on its way" not in after
    assert "Old account" not in after
    assert "Bookings not updated in your calendar" not in after


def _push_row(connection, *, state: str, subject: str) -> PushedEvent:
    return PushedEvent.objects.create(
        host=connection.host,
        calendar=Calendar.objects.get(connection=connection, is_default=True),
        source=f"booking:{subject}",
        payload=EventDescription.from_json(
            {
                "subject": subject,
                "start": "2026-12-01T09:00:00+00:00",
                "end": "2026-12-01T09:30:00+00:00",
                "time_zone": "UTC",
            }
        ).to_json(),
        state=state,
    )


def test_while_disconnected_setup_says_pushes_wait_for_a_reconnect(host_client, connected):
    failed = _push_row(connected, state=PushState.FAILED, subject="Failed one")
    _push_row(connected, state=PushState.PENDING, subject="Pending one")
    host_client.post(reverse("calendars:disconnect", args=[connected.pk]))

    page = text(host_client.get(LOBBY))
    assert "1 booking update waits until you reconnect" in page
    assert "on its way" not in page

    retried = text(host_client.post(reverse("calendars:push_retry", args=[failed.pk]), follow=True))
    assert "goes to your calendar once you reconnect" in retried
    assert "updated in a moment" not in retried
    assert "2 booking updates wait until you reconnect" in retried
    failed.refresh_from_db()
    assert failed.state == PushState.WAITING


def test_a_button_pressed_after_the_session_expired_leads_back_after_logging_in(
    client, host, connected
):
    # The Setup tab stayed open past the session: the press sends the host to log in,
    # and logging in sends the browser back to the button's address, by GET.
    for url in (
        CONNECT,
        reverse("calendars:reminder", args=[connected.pk]),
        reverse("calendars:refresh", args=[connected.pk]),
        reverse("calendars:push_retry", args=[1]),
    ):
        pressed = client.post(url, {"reminder": "30"})
        assert pressed.status_code == 302
        assert "next=" in pressed["Location"]
        client.force_login(host)

        back = client.get(url)

        assert back.status_code == 405
        assert back["Allow"] == "POST"
        assert "Nothing was changed" in text(back)
        assert f'href="{LOBBY}"' in back.content.decode()
        client.logout()
    connected.refresh_from_db()
    assert connected.default_reminder_minutes != 30


def test_other_hosts_cannot_touch_a_connection(client, teammate, connected):
    client.force_login(teammate)
    for name in ("reminder", "refresh", "disconnect"):
        assert client.post(reverse(f"calendars:{name}", args=[connected.pk])).status_code == 404
    assert "alice@contoso.com" not in client.get(LOBBY).content.decode()
    connected.refresh_from_db()
    assert connected.is_connected


def test_a_disconnected_connection_shows_a_banner_with_reconnect_on_every_setup_page(
    host_client, connected
):
    from calendars.services.connections import connection_disconnect

    connection_disconnect(connection=connected, reason=DisconnectReason.EXPIRED)
    for url in (reverse("setup:home"), reverse("setup:profile"), LOBBY):
        response = host_client.get(url)
        assert (
            "Your Office 365 calendar (alice@contoso.com) is disconnected: the sign-in expired."
            in text(response)
        )
        markup = response.content.decode()
        banner = re.search(r'class="banner error calendar-banner".*?</div>', markup, re.S)
        assert f'action="{CONNECT}" target="_blank"' in banner.group(0)
        assert ">Reconnect</button>" in banner.group(0)


def test_a_refused_sign_in_is_named_in_plain_words_in_setup_and_the_email(
    host_client, connected, mailoutbox, django_capture_on_commit_callbacks
):
    from calendars.services.connections import connection_disconnect

    with django_capture_on_commit_callbacks(execute=True):
        connection_disconnect(connection=connected, reason=DisconnectReason.REVOKED)

    page = text(host_client.get(LOBBY))
    assert "is disconnected: Microsoft refused the sign-in." in page
    assert "Disconnected: Microsoft refused the sign-in." in page
    [email] = mailoutbox
    assert "stopped working: Microsoft refused the sign-in." in email.body
    assert "stopped working: Microsoft refused the sign-in." in email.alternatives[0][0]


def test_an_expiring_connection_warns_on_setup_pages(host_client, connected):
    from datetime import timedelta

    from django.utils import timezone

    connected.refresh_expires_at = timezone.now() + timedelta(days=10)
    connected.save()
    page = text(host_client.get(reverse("setup:home")))
    assert "Your Office 365 connection (alice@contoso.com) expires on" in page
    # In the host's own zone, saying which (as the warning email does): Alice is in London.
    with timezone.override("Europe/London"):
        when = timezone.localtime(connected.refresh_expires_at)
    assert f"expires on {when:%A} {when.day} {when:%B %Y, %H:%M} {when:%Z}." in page
    connected.refresh_expires_at = timezone.now() + timedelta(days=60)
    connected.save()
    assert "calendar-banner" not in host_client.get(reverse("setup:home")).content.decode()


def test_the_admin_shows_connections_without_their_tokens(admin_client, connected, fake_microsoft):
    page = admin_client.get(
        reverse("admin:calendars_calendarconnection_change", args=[connected.pk])
    ).content.decode()
    assert "alice@contoso.com" in page
    assert "Tokens stored" in page
    assert connected.token_cache[:40] not in page
    for secret in fake_microsoft.issued:
        assert secret not in page
    listing = admin_client.get(reverse("admin:calendars_calendarconnection_changelist"))
    assert connected.token_cache[:40] not in listing.content.decode()


def test_the_sign_in_tab_is_told_to_close_itself_and_leaves_the_message_to_setup(
    client, host, settings
):
    client.force_login(host)
    session = client.session
    session["calendar_sign_in_new_tab"] = True
    session.save()
    tab = client.get("/setup/integration/calendar/?signed_in=1").text
    assert "data-sign-in-tab" in tab
    assert 'id="sign-in-done"' in tab
    assert "data-sign-in-tab" not in client.get("/setup/integration/calendar/").text
