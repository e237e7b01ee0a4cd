"""A form sent with mistakes answers 400 (bad input is a 4xx everywhere, as DESIGN says),
shows what is wrong, and changes nothing already stored.

Sign-up, Profile, the webhook forms and the API token form answered 200 with their
errors while every other Setup form answered 400, so a client (or a test harness)
reading the status took a refused form for a saved one.
"""

from __future__ import annotations

import pytest

from integrations.models import ApiToken, WebhookEndpoint

pytestmark = pytest.mark.django_db

NUL_NAME = "Alice\x00Host"
ZONE = "Not/AZone"


def test_sign_up_with_mistakes(client, django_user_model):
    answer = client.post(
        "/accounts/signup/",
        {
            "name": NUL_NAME,
            "email": "new@example.com",
            "time_zone": ZONE,
            "password1": "a-long-password-1",
            "password2": "a-long-password-1",
        },
    )
    assert answer.status_code == 400
    assert not django_user_model.objects.filter(email="new@example.com").exists()


def test_profile_with_mistakes(client, host):
    client.force_login(host)
    answer = client.post("/setup/profile/", {"name": "X" * 5000, "time_zone": ZONE})
    assert answer.status_code == 400
    host.refresh_from_db()
    assert (host.name, host.time_zone) == ("Alice Host", "Europe/London")


def test_webhook_forms_with_mistakes(client, host):
    client.force_login(host)
    made = client.post(
        "/setup/integration/webhooks/",
        {"url": "javascript:alert(1)", "events": ["booking.created"], "description": ""},
    )
    assert made.status_code == 400
    assert not WebhookEndpoint.objects.exists()

    endpoint = WebhookEndpoint.objects.create(
        owner=host, url="https://hooks.example.com/in", events=["booking.created"]
    )
    edited = client.post(
        f"/setup/integration/webhooks/{endpoint.pk}/",
        {"url": "https://10.0.0.1/in", "events": ["booking.created"], "is_active": "on"},
    )
    assert edited.status_code == 400
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/in"


def test_api_token_form_with_mistakes(client, host):
    client.force_login(host)
    answer = client.post("/setup/profile/api-tokens/", {"name": "a\x00b"})
    assert answer.status_code == 400
    assert "so_pat_" not in answer.content.decode()
    assert not ApiToken.objects.exists()


def test_change_password_with_mistakes(client, host):
    client.force_login(host)
    answer = client.post(
        "/setup/profile/password/",
        {"old_password": "alice-password-1", "new_password1": "x\x00", "new_password2": "y"},
    )
    assert answer.status_code == 400
    host.refresh_from_db()
    assert host.check_password("alice-password-1")
