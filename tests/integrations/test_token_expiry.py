"""API tokens expire when their owner chose (30, 90 or 365 days, or never): Setup offers
the choice and shows the date, and the API answers an expired token 401 with the error
body every refusal has."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import organization_create_for
from integrations.models import ApiToken
from integrations.tokens import token_create

pytestmark = pytest.mark.django_db

TOKENS = "/setup/profile/api-tokens/"


def _days_left(token: ApiToken) -> float:
    return (token.expires_at - timezone.now()) / timedelta(days=1)


def test_a_new_token_lasts_as_long_as_its_owner_chose(host_client):
    form = host_client.get(TOKENS).content.decode()
    offered = re.findall(r'<option value="([^"]+)"( selected)?', form)
    assert offered == [("30", ""), ("90", " selected"), ("365", ""), ("never", "")]

    for chosen, days in (("30", 30), ("365", 365), ("never", None), (None, 90)):
        sent = {"name": f"CRM {chosen}"} | ({"expires": chosen} if chosen else {})
        assert host_client.post(TOKENS, sent).status_code == 200
        token = ApiToken.objects.get(name=f"CRM {chosen}")
        if days is None:
            assert token.expires_at is None
        else:
            assert days - 0.01 < _days_left(token) <= days

    answer = host_client.post(TOKENS, {"name": "A week", "expires": "7"})
    assert answer.status_code == 400
    assert not ApiToken.objects.filter(name="A week").exists()


def test_the_list_says_when_each_token_expires(host_client, host):
    host.time_zone = "Europe/Berlin"
    host.save()
    now = timezone.now()
    soon, _value = token_create(owner=host, name="Soon", expires_in_days=30, now=now)
    token_create(owner=host, name="Forever")
    _old, _value = token_create(
        owner=host, name="Old", expires_in_days=30, now=now - timedelta(days=31)
    )
    page = host_client.get(TOKENS).content.decode()

    def row(token_name: str) -> str:
        token = ApiToken.objects.get(name=token_name)
        return re.search(rf'<tr data-token="{token.pk}">(.*?)</tr>', page, re.S).group(1)

    berlin = timezone.localtime(soon.expires_at, timezone.get_fixed_timezone(60))
    shown = f"{berlin.day} {berlin.strftime('%b %Y %H:%M')}"  # "j M Y H:i" in Berlin
    assert f'data-testid="expires">{shown}<' in row("Soon")
    assert 'data-testid="expires">Never<' in row("Forever")
    assert 'data-testid="expired"' in row("Old")
    assert "Revoke" not in row("Old")
    assert "Revoke" in row("Soon")


def test_an_expired_token_is_refused_with_the_error_body(client, host):
    now = timezone.now()
    _row, live = token_create(
        owner=host,
        name="Live",
        expires_in_days=30,
        now=now - timedelta(days=30) + timedelta(minutes=1),
    )
    row, expired = token_create(
        owner=host, name="Expired", expires_in_days=30, now=now - timedelta(days=30)
    )
    assert client.get("/api/v1/bookings", HTTP_AUTHORIZATION=f"Bearer {live}").status_code == 200

    for path in ("/api/v1/bookings", "/api/v1/booking-pages", "/api/v1/bookings/x"):
        answer = client.get(path, HTTP_AUTHORIZATION=f"Bearer {expired}")
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"].startswith("Bearer")
        assert answer["Content-Type"] == "application/json"
        body = json.loads(answer.content)
        assert set(body) == {"message", "errors"}
        assert "expired" in body["message"]
        assert row.expires_at.isoformat()[:16] in body["message"]
        assert expired not in answer.content.decode()
    row.refresh_from_db()
    assert row.last_used_at is None


def test_an_admin_is_not_shown_members_tokens_that_expired(client, host, teammate):
    organization = organization_create_for(user=host, name="Contoso").organization
    Membership.objects.create(organization=organization, user=teammate, role=Role.MEMBER)
    now = timezone.now()
    token_create(owner=teammate, name="Bob live", expires_in_days=90, now=now)
    token_create(owner=teammate, name="Bob old", expires_in_days=30, now=now - timedelta(days=40))
    client.force_login(host)
    page = client.get(TOKENS).content.decode()
    assert "Bob live" in page
    assert "Bob old" not in page
