"""Token encryption: newest key encrypts, old keys decrypt, rotation, and clear errors."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from calendars import crypto
from calendars.checks import token_keys_check
from calendars.models import CalendarConnection

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_old_keys_still_decrypt_and_the_newest_encrypts(settings):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD]
    written = crypto.encrypt("cache")
    settings.TOKEN_ENCRYPTION_KEYS = [NEW, OLD]
    assert crypto.decrypt(written) == "cache"
    rotated = crypto.rotate(written)
    settings.TOKEN_ENCRYPTION_KEYS = [NEW]
    assert crypto.decrypt(rotated) == "cache"
    with pytest.raises(crypto.TokenKeyError):
        crypto.decrypt(written)


def test_a_malformed_key_is_named_by_position_not_value(settings):
    settings.TOKEN_ENCRYPTION_KEYS = [NEW, "not-a-key-at-all"]
    with pytest.raises(ImproperlyConfigured) as caught:
        crypto.encrypt("x")
    assert "entry #2" in str(caught.value)
    assert "not-a-key-at-all" not in str(caught.value)
    [error] = token_keys_check(None)
    assert error.id == "calendars.E001"


@pytest.mark.django_db
def test_rotate_token_key_reencrypts_every_connection(settings, host, teammate, capsys):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD]
    a = CalendarConnection.objects.create(
        host=host,
        provider="office365",
        account_id="a",
        account_email="a@x.com",
        token_cache=crypto.encrypt('{"RefreshToken": {}}'),
    )
    CalendarConnection.objects.create(
        host=teammate,
        provider="office365",
        account_id="b",
        account_email="b@x.com",
        status="disconnected",
    )
    settings.TOKEN_ENCRYPTION_KEYS = [NEW, OLD]

    call_command("rotate_token_key")

    out = capsys.readouterr().out
    assert "Re-encrypted 1 connection(s) with the newest key; 1 had no stored tokens." in out
    assert NEW not in out
    assert OLD not in out
    settings.TOKEN_ENCRYPTION_KEYS = [NEW]
    a.refresh_from_db()
    assert crypto.decrypt(a.token_cache) == '{"RefreshToken": {}}'


@pytest.mark.django_db
def test_rotate_token_key_reports_rows_no_key_can_read(settings, host):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD]
    row = CalendarConnection.objects.create(
        host=host,
        provider="office365",
        account_id="a",
        account_email="a@x.com",
        token_cache=crypto.encrypt("secret cache"),
    )
    settings.TOKEN_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(CommandError) as caught:
        call_command("rotate_token_key")
    assert f"ids: {row.pk}" in str(caught.value)
    assert "secret cache" not in str(caught.value)
