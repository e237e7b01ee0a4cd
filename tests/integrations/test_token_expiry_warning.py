"""An API token's owner is emailed once, about a week before the token expires: in the
owner's language, naming the token (never its secret) and linking to Setup → Profile →
API tokens. Beat runs it hourly; a second run, or two at once, sends nothing more."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from integrations.models import ApiToken
from integrations.tasks import warn_expiring_tokens as warn_task
from integrations.token_expiry import warn_expiring_tokens
from integrations.tokens import token_create, token_revoke

TOKENS_URL = settings.SITE_URL + "/setup/profile/api-tokens/"


def _made(owner, name, *, days, ago):
    """A token made ``ago`` days back that lasts ``days`` days (None: never expires)."""
    now = timezone.now() - timedelta(days=ago)
    token, value = token_create(owner=owner, name=name, expires_in_days=days, now=now)
    return token, value


def test_beat_runs_the_warning_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["api-token-expiry"]
    assert entry["task"] == warn_task.name
    assert entry["schedule"] == 3600


@pytest.mark.django_db
def test_the_owner_is_emailed_once_a_week_before(host):
    due, secret = _made(host, "CRM export", days=30, ago=24)  # 6 days left
    later, _value = _made(host, "Not yet", days=30, ago=20)  # 10 days left
    _made(host, "Gone", days=30, ago=31)  # expired already
    _made(host, "Forever", days=None, ago=300)
    revoked, _value = _made(host, "Revoked", days=30, ago=25)
    token_revoke(token=revoked)

    assert warn_task() == [due.pk]
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [host.email]
    assert email.subject == "Your API token “CRM export” expires soon"
    assert "“CRM export”" in email.body
    assert due.prefix in email.body
    assert TOKENS_URL in email.body
    assert "Setup → Profile → API tokens" in email.body
    assert secret not in email.body
    assert secret not in email.subject
    due.refresh_from_db()
    assert due.expiry_warned_at is not None

    # The next hour's run sends nothing; five days on, only the other token is due.
    assert warn_expiring_tokens() == []
    assert warn_expiring_tokens(now=timezone.now() + timedelta(days=5)) == [later.pk]
    assert [email.subject for email in mail.outbox[1:]] == ["Your API token “Not yet” expires soon"]


@pytest.mark.django_db
def test_in_the_owners_language_and_time_zone(host):
    host.language = "de"
    host.time_zone = "Europe/Berlin"
    host.save()
    token, secret = _made(host, "Buchhaltung", days=90, ago=85)
    assert warn_expiring_tokens() == [token.pk]
    email = mail.outbox[0]
    assert email.subject == "Ihr API-Token „Buchhaltung“ läuft bald ab"
    assert "Einrichtung → Profil → API-Tokens" in email.body
    assert TOKENS_URL in email.body
    assert secret not in email.body
    berlin = timezone.localtime(token.expires_at, timezone.zoneinfo.ZoneInfo("Europe/Berlin"))
    assert f"läuft am {berlin.day}. " in email.body
    assert f"{berlin:%H:%M}" in email.body


@pytest.mark.django_db
def test_a_failed_email_is_tried_again_at_the_next_run(host, monkeypatch):
    token, _value = _made(host, "CRM", days=30, ago=24)

    def refuse(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("integrations.token_expiry.Email.send", refuse)
    assert warn_expiring_tokens() == []
    token.refresh_from_db()
    assert token.expiry_warned_at is None
    monkeypatch.undo()
    assert warn_expiring_tokens() == [token.pk]
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_one_email(host):
    token, _value = _made(host, "CRM", days=30, ago=24)
    results = []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            results.append(warn_expiring_tokens())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [[], [token.pk]]
    assert len(mail.outbox) == 1
    assert ApiToken.objects.get(pk=token.pk).expiry_warned_at is not None
