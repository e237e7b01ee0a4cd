"""Access tokens: refresh under the lock, rotation, and Microsoft's exact refusals."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from email.utils import format_datetime

import pytest
import responses
from django.core import mail
from django.utils import timezone

from calendars import crypto
from calendars.models import ConnectionStatus, DisconnectReason
from calendars.providers import ProviderError
from calendars.providers.base import Account
from calendars.providers.office365 import msal_app
from calendars.services.connections import connection_disconnect
from calendars.services.tokens import access_token_for, with_provider
from tests.support.microsoft import (
    CONSENT_REQUIRED,
    GRAPH,
    GRAPH_401,
    INTERACTION_REQUIRED,
    INVALID_GRANT_50173,
    INVALID_GRANT_65001,
    INVALID_GRANT_70008,
    INVALID_GRANT_70043,
    INVALID_GRANT_700082,
)

pytestmark = pytest.mark.django_db


def test_connect_stores_an_encrypted_cache_and_ninety_days(connected, fake_microsoft):
    assert connected.status == ConnectionStatus.CONNECTED
    assert connected.account_email == "alice@contoso.com"
    assert (
        connected.account_id
        == "00000000-0000-0000-66f3-3332eca7ea81.72f988bf-86f1-41af-91ab-2d7cd011db47"
    )
    for secret in fake_microsoft.issued:
        assert secret not in connected.token_cache
    assert any(secret in crypto.decrypt(connected.token_cache) for secret in fake_microsoft.issued)
    lifetime = connected.refresh_expires_at - connected.refresh_issued_at
    assert lifetime == timedelta(days=90)


def test_a_cached_access_token_needs_no_call_to_microsoft(connected, fake_microsoft):
    before = len(fake_microsoft.requests)
    token = access_token_for(connection=connected)
    assert token == fake_microsoft.issued[0]
    assert len(fake_microsoft.requests) == before


def test_refresh_rotates_the_refresh_token_and_slides_the_expiry(connected, fake_microsoft):
    long_ago = timezone.now() - timedelta(days=40)
    connected.refresh_issued_at = long_ago
    connected.refresh_expires_at = long_ago + timedelta(days=90)
    connected.save()
    first_refresh_token = fake_microsoft.issued[1]

    token = access_token_for(connection=connected, force_refresh=True)

    [request] = fake_microsoft.refresh_requests()
    assert request["refresh_token"] == first_refresh_token
    assert token == fake_microsoft.issued[-2]
    connected.refresh_from_db()
    assert timezone.now() - connected.refresh_issued_at < timedelta(seconds=30)
    assert connected.refresh_expires_at - connected.refresh_issued_at == timedelta(days=90)
    assert fake_microsoft.issued[-1] in crypto.decrypt(connected.token_cache)
    # The next refresh uses the rotated refresh token.
    access_token_for(connection=connected, force_refresh=True)
    assert fake_microsoft.refresh_requests()[1]["refresh_token"] == fake_microsoft.issued[-3]


def test_fixed_reconnect_keeps_the_expiry_of_the_sign_in(connected, fake_microsoft, settings):
    settings.CALENDAR_FIXED_RECONNECT = True
    expires = connected.refresh_expires_at
    access_token_for(connection=connected, force_refresh=True)
    connected.refresh_from_db()
    assert connected.refresh_expires_at == expires
    assert connected.refresh_issued_at > connected.signed_in_at


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (INVALID_GRANT_700082, DisconnectReason.EXPIRED),
        (INVALID_GRANT_70008, DisconnectReason.EXPIRED),
        # "Have the user sign in again" (FreshTokenNeeded) and a sign-in frequency that ran
        # out: the sign-in expired; nothing was taken away from the app.
        (INVALID_GRANT_50173, DisconnectReason.EXPIRED),
        (INVALID_GRANT_70043, DisconnectReason.EXPIRED),
        (INTERACTION_REQUIRED, DisconnectReason.REVOKED),
        (INVALID_GRANT_65001, DisconnectReason.REVOKED),
        (CONSENT_REQUIRED, DisconnectReason.REVOKED),
    ],
    ids=[
        "700082-inactive",
        "70008-expired",
        "50173-fresh-token-needed",
        "70043-sign-in-frequency",
        "interaction-required",
        "65001-consent-withdrawn",
        "consent-required",
    ],
)
def test_a_refused_refresh_disconnects_once_and_emails_once(
    connected, fake_microsoft, body, reason, caplog, django_capture_on_commit_callbacks
):
    fake_microsoft.refusals.append((400, body))
    mail.outbox.clear()
    caplog.set_level(logging.DEBUG)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProviderError) as caught:
        access_token_for(connection=connected, force_refresh=True)

    assert caught.value.permanent
    assert caught.value.reason == reason
    assert str(body["error_codes"][0]) in str(caught.value)
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.DISCONNECTED
    assert connected.disconnect_reason == reason
    assert connected.token_cache == ""
    assert len(mail.outbox) == 1
    assert "Reconnect" in mail.outbox[0].body
    expired = "the sign-in expired" in mail.outbox[0].body
    assert expired == (reason == DisconnectReason.EXPIRED)
    assert mail.outbox[0].alternatives[0][1] == "text/html"

    # Asking again neither calls Microsoft nor emails again.
    calls = len(fake_microsoft.requests)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProviderError):
        access_token_for(connection=connected)
    assert len(fake_microsoft.requests) == calls
    assert len(mail.outbox) == 1
    for secret in fake_microsoft.issued:
        assert secret not in str(caught.value)
        assert secret not in caplog.text


def test_a_server_error_is_temporary_and_keeps_the_connection(connected, fake_microsoft):
    fake_microsoft.refusals.append((503, {"error": "temporarily_unavailable"}))
    with pytest.raises(ProviderError) as caught:
        access_token_for(connection=connected, force_refresh=True)
    assert not caught.value.permanent
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED
    assert connected.last_token_error
    # MSAL holds a 5xx answer for a few seconds (its own throttling); time passes.
    msal_app._HTTP_CACHE.clear()
    # The next successful refresh clears the note.
    access_token_for(connection=connected, force_refresh=True)
    connected.refresh_from_db()
    assert connected.last_token_error == ""


THROTTLED_90055 = {
    "error": "temporarily_unavailable",
    "error_description": "AADSTS90055: There are too many incoming requests. Please retry "
    "after some time.",
    "error_codes": [90055],
}


@pytest.mark.parametrize(
    ("status", "body"), [(429, THROTTLED_90055), (503, {"error": "temporarily_unavailable"})]
)
def test_the_token_endpoints_retry_after_is_kept_in_seconds_or_as_a_date(
    connected, fake_microsoft, status, body
):
    fake_microsoft.refusals.append((status, body, {"Retry-After": "90"}))
    with pytest.raises(ProviderError) as caught:
        access_token_for(connection=connected, force_refresh=True)
    assert (caught.value.permanent, caught.value.retry_after) == (False, 90.0)
    msal_app._HTTP_CACHE.clear()  # MSAL's own throttle cache holds the answer meanwhile
    soon = format_datetime(timezone.now() + timedelta(seconds=300), usegmt=True)
    fake_microsoft.refusals.append((status, body, {"Retry-After": soon}))
    with pytest.raises(ProviderError) as caught:
        access_token_for(connection=connected, force_refresh=True)
    assert 250 < caught.value.retry_after <= 300
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED


def test_error_codes_that_are_not_numbers_are_left_out_of_the_message(connected, fake_microsoft):
    body = {**THROTTLED_90055, "error_codes": ["\u00b2", 90055, None]}
    fake_microsoft.refusals.append((429, body, {"Retry-After": "30"}))
    with pytest.raises(ProviderError) as caught:
        access_token_for(connection=connected, force_refresh=True)
    assert "AADSTS90055" in str(caught.value)
    assert caught.value.permanent is False


def test_a_refused_client_secret_is_not_blamed_on_the_host(connected, fake_microsoft, caplog):
    fake_microsoft.refusals.append(
        (
            401,
            {
                "error": "invalid_client",
                "error_description": "AADSTS7000222: The provided client secret keys for app "
                "'11111111-2222-3333-4444-555555555555' are expired.",
                "error_codes": [7000222],
            },
        )
    )
    with pytest.raises(ProviderError) as caught:
        access_token_for(connection=connected, force_refresh=True)
    assert not caught.value.permanent
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED
    assert "invalid_client" in caplog.text
    # The operator reads what to do (the app registration's secret expired).
    assert "set a new MS_CLIENT_SECRET" in caplog.text


def test_a_wrong_key_gives_a_clear_error_without_data(connected, settings):
    from cryptography.fernet import Fernet

    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.TokenKeyError) as caught:
        access_token_for(connection=connected, force_refresh=True)
    assert "TOKEN_ENCRYPTION_KEYS" in str(caught.value)
    assert connected.token_cache[:20] not in str(caught.value)


def _list_calendars(provider, token):
    return provider.list_calendars(
        access_token=token, account=Account(account_id="x", email="alice@contoso.com")
    )


def test_a_401_from_graph_is_retried_once_with_a_refreshed_token(connected, fake_microsoft):
    fake_microsoft.mock.replace(responses.GET, f"{GRAPH}/me/calendars", status=401, json=GRAPH_401)
    fake_microsoft.mock.add(responses.GET, f"{GRAPH}/me/calendars", json={"value": []})

    listed = with_provider(connection=connected, action=_list_calendars)

    assert listed.owned == []
    assert len(fake_microsoft.refresh_requests()) == 1
    tokens = [
        c.request.headers["Authorization"]
        for c in fake_microsoft.mock.calls
        if "/me/calendars" in c.request.url
    ]
    assert tokens[-2] != tokens[-1]
    connected.refresh_from_db()
    assert connected.is_connected


def test_a_401_after_a_refresh_means_the_sign_in_is_gone(
    connected, fake_microsoft, django_capture_on_commit_callbacks
):
    fake_microsoft.mock.replace(responses.GET, f"{GRAPH}/me/calendars", status=401, json=GRAPH_401)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProviderError) as caught:
        with_provider(connection=connected, action=_list_calendars)
    assert caught.value.permanent
    assert (caught.value.status, caught.value.code) == (401, "InvalidAuthenticationToken")
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.DISCONNECTED
    assert connected.disconnect_reason == DisconnectReason.REVOKED
    assert len(mail.outbox) == 1


def test_a_401_for_a_sign_in_the_host_replaced_meanwhile_keeps_the_new_one(
    connected, host, fake_microsoft, django_capture_on_commit_callbacks
):
    """Microsoft refuses the old sign-in; the host disconnects and reconnects meanwhile."""
    old_sign_in: list[str] = []  # its tokens, once the host has signed in again
    refused: list[str] = []

    def graph_calendars(request):
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if old_sign_in and token not in old_sign_in:
            return fake_microsoft._calendars(request)
        refused.append(token)
        if len(refused) == 2:
            # The retry with a refreshed token is in flight: the host reconnects now.
            old_sign_in.extend(fake_microsoft.issued)
            connection_disconnect(connection=connected)
            fake_microsoft.connect(host)
        return 401, {"Content-Type": "application/json"}, json.dumps(GRAPH_401)

    fake_microsoft.mock.replace(
        responses.CallbackResponse(responses.GET, f"{GRAPH}/me/calendars", callback=graph_calendars)
    )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProviderError) as caught:
        with_provider(connection=connected, action=_list_calendars)

    assert len(refused) == 2
    assert not caught.value.permanent  # a retry uses the new sign-in
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.CONNECTED
    assert mail.outbox == []
    assert with_provider(connection=connected, action=_list_calendars).owned


@pytest.mark.parametrize(
    ("status", "body"), [(429, THROTTLED_90055), (503, {"error": "temporarily_unavailable"})]
)
def test_a_refusal_msal_replays_from_its_throttle_cache_keeps_its_retry_after(
    connected, fake_microsoft, status, body
):
    # MSAL keeps a throttled answer for its Retry-After and answers the same request with
    # it meanwhile, without asking Microsoft. A retry in that time must learn how long is
    # left, not fall back to a guess that brings it back while the answer is still kept.
    fake_microsoft.refusals.append((status, body, {"Retry-After": "90"}))
    with pytest.raises(ProviderError) as first:
        access_token_for(connection=connected, force_refresh=True)
    asked = len(fake_microsoft.requests)
    with pytest.raises(ProviderError) as replayed:
        access_token_for(connection=connected, force_refresh=True)
    assert len(fake_microsoft.requests) == asked  # MSAL answered from its cache
    assert first.value.retry_after == 90.0
    assert replayed.value.permanent is False
    assert replayed.value.retry_after is not None
    assert 85 <= replayed.value.retry_after <= 90


def test_a_busy_token_endpoint_without_retry_after_is_waited_out_for_msals_own_hold(
    connected, fake_microsoft
):
    # MSAL keeps a 5xx without Retry-After for 5 seconds: a retry sooner reaches nobody.
    fake_microsoft.refusals.append((503, {"error": "temporarily_unavailable"}, {}))
    with pytest.raises(ProviderError) as caught:
        access_token_for(connection=connected, force_refresh=True)
    assert (caught.value.permanent, caught.value.retry_after) == (False, 5.0)
