"""Setup → Integration → Webhooks and Setup → Profile → API tokens, through the test client."""

from __future__ import annotations

import re

import pytest

from integrations.models import ApiToken, DeliveryState, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import delivery_deliver

pytestmark = pytest.mark.django_db


def test_adding_an_endpoint_shows_its_secret_once(host_client, receiver):
    response = host_client.post(
        "/setup/integration/webhooks/",
        {"url": receiver.url, "description": "CRM", "events": ["booking.created"]},
    )
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    page = response.content.decode()
    [secret] = re.findall(r"whsec_[A-Za-z0-9+/=]+", page)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["booking.created"]
    assert secret not in endpoint.secret_encrypted
    again = host_client.get(f"/setup/integration/webhooks/{endpoint.pk}/").content.decode()
    assert "whsec_" not in again


def test_an_endpoint_needs_events_and_a_usable_url(host_client):
    response = host_client.post("/setup/integration/webhooks/", {"url": "ftp://x", "events": []})
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()
    assert "Choose at least one event." in response.content.decode()


def test_send_test_event_and_resend_from_the_endpoint_page(host_client, endpoint, receiver):
    response = host_client.post(f"/setup/integration/webhooks/{endpoint.pk}/test/")
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get()
    delivery_deliver(delivery_id=delivery.pk)
    page = host_client.get(f"/setup/integration/webhooks/{endpoint.pk}/").content.decode()
    assert "webhook.test" in page
    assert "Delivered" in page
    assert delivery.message_id in page  # in the request body's details

    host_client.post(f"/setup/integration/webhooks/deliveries/{delivery.pk}/resend/")
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING


def test_rotating_shows_the_new_secret_once(host_client, endpoint):
    old = endpoint.secret_encrypted
    response = host_client.post(f"/setup/integration/webhooks/{endpoint.pk}/rotate/")
    assert re.search(r"whsec_", response.content.decode())
    endpoint.refresh_from_db()
    assert endpoint.previous_secret_encrypted == old


def test_editing_and_switching_an_endpoint_back_on(host_client, endpoint, receiver):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, disabled_reason="x")
    response = host_client.post(
        f"/setup/integration/webhooks/{endpoint.pk}/",
        {"url": receiver.url, "events": ["booking.cancelled"], "is_active": "on"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert endpoint.events == ["booking.cancelled"]
    assert endpoint.disabled_reason == ""


def test_other_hosts_cannot_see_or_touch_an_endpoint(client, outsider, endpoint):
    client.force_login(outsider)
    base = f"/setup/integration/webhooks/{endpoint.pk}/"
    assert client.get(base).status_code == 404
    for action in ("test/", "rotate/", "delete/"):
        assert client.post(base + action).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert endpoint.url not in client.get("/setup/integration/webhooks/").content.decode()


def test_making_and_revoking_an_api_token(host_client, outsider, client):
    response = host_client.post("/setup/profile/api-tokens/", {"name": "CRM sync"})
    [value] = re.findall(
        r"data-testid=\"api-token\">(so_pat_[A-Za-z0-9_-]+)<", response.content.decode()
    )
    token = ApiToken.objects.get()
    assert (
        host_client.get("/api/v1/bookings", HTTP_AUTHORIZATION=f"Bearer {value}").status_code == 200
    )
    listing = host_client.get("/setup/profile/api-tokens/").content.decode()
    assert value not in listing
    assert "CRM sync" in listing

    host_client.post(f"/setup/profile/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert (
        host_client.get("/api/v1/bookings", HTTP_AUTHORIZATION=f"Bearer {value}").status_code == 401
    )


def test_webhooks_are_in_the_setup_sidebar_and_tokens_on_the_profile(host_client):
    assert "/setup/integration/webhooks/" in host_client.get("/setup/").content.decode()
    assert "/setup/profile/api-tokens/" in host_client.get("/setup/profile/").content.decode()


def test_the_pages_speak_german_to_a_host_who_chose_it(host_client, host, endpoint):
    host.language = "de"
    host.save()
    webhooks = host_client.get("/setup/integration/webhooks/").content.decode()
    assert "Endpunkt" in webhooks
    page = host_client.get(f"/setup/integration/webhooks/{endpoint.pk}/").content.decode()
    assert "Testereignis senden" in page
    assert "API-Tokens" in host_client.get("/setup/profile/api-tokens/").content.decode()


def test_the_form_offers_the_meeting_link_event(host_client, receiver):
    page = host_client.get("/setup/integration/webhooks/").content.decode()
    assert 'value="booking.meeting_link_ready"' in page
    assert "Online meeting link ready" in page
    response = host_client.post(
        "/setup/integration/webhooks/",
        {"url": receiver.url, "events": ["booking.meeting_link_ready"]},
    )
    assert response.status_code == 200
    assert WebhookEndpoint.objects.get().events == ["booking.meeting_link_ready"]
