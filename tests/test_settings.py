"""Settings come from the environment; production refuses to start half-configured."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from scheduleonce.envtools import env_seconds
from tests.support.subproc import clean_env, manage

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-with-entropy-0123456789",
    "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "scheduleonce.example.com",
    "DATABASE_URL": "postgres://scheduleonce@127.0.0.1:5432/scheduleonce",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "MS_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "MS_CLIENT_SECRET": "a-client-secret",
    "SITE_URL": "https://scheduleonce.example.com",
    "EMAIL_URL": "smtp+tls://mailer:mail-password@smtp.example.com:587",
    "DEFAULT_FROM_EMAIL": "ScheduleOnce <bookings@scheduleonce.example.com>",
}


def test_check_deploy_passes_with_production_values():
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=clean_env(**PRODUCTION))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


@pytest.mark.parametrize(
    ("unset", "warning"),
    [
        ("EMAIL_URL", "EMAIL_URL is not set"),
        ("DEFAULT_FROM_EMAIL", "mail servers refuse or bin mail from @localhost"),
        ("MS_CLIENT_ID", "MS_CLIENT_ID and MS_CLIENT_SECRET are not set"),
        ("MS_CLIENT_SECRET", "MS_CLIENT_ID and MS_CLIENT_SECRET are not set"),
    ],
)
def test_check_deploy_warns_about_what_production_would_lack(unset, warning):
    # Without EMAIL_URL, reset links and booking emails go to the log, not to people;
    # without the Azure app, no host can connect Office 365.
    env = clean_env(**{k: v for k, v in PRODUCTION.items() if k != unset})
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert done.returncode != 0
    assert warning in done.stdout + done.stderr


def test_production_does_not_install_the_graph_sandbox():
    script_env = clean_env(**PRODUCTION)
    done = manage(
        "shell",
        "-c",
        "from django.conf import settings; "
        "print('graph_sandbox' in settings.INSTALLED_APPS, settings.GRAPH_SANDBOX)",
        env=script_env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_its_secrets(missing):
    env = clean_env(**{k: v for k, v in PRODUCTION.items() if k != missing})
    done = manage("check", env=env)
    assert done.returncode != 0
    assert f"{missing} must be set in production" in done.stderr


def test_a_typo_in_a_boolean_is_an_error_not_false():
    done = manage("check", env=clean_env(DEBUG="ture"))
    assert done.returncode != 0
    assert "DEBUG must be one of" in done.stderr


@pytest.mark.parametrize(
    ("raw", "message"),
    [("soon", "must be a whole number"), ("0", "at least 1"), ("-5", "at least 1")],
)
def test_intervals_are_positive_whole_seconds(monkeypatch, raw, message):
    monkeypatch.setenv("HEARTBEAT_INTERVAL", raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        env_seconds("HEARTBEAT_INTERVAL", default=60)
    monkeypatch.setenv("HEARTBEAT_INTERVAL", "90")
    assert env_seconds("HEARTBEAT_INTERVAL", default=60) == 90


def test_local_run_generates_and_keeps_a_token_key(tmp_path):
    env = clean_env(DEBUG="1", VAR_DIR=str(tmp_path))
    show = "from django.conf import settings; print(len(settings.TOKEN_ENCRYPTION_KEYS[0]))"
    first = manage("shell", "-c", show, env=env)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "token_encryption_keys"
    key = key_file.read_text()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    manage("shell", "-c", show, env=env)
    assert key_file.read_text() == key
    # The key itself is never printed.
    assert key.strip() not in first.stdout + first.stderr


@pytest.mark.parametrize(
    ("extra", "origins"),
    [
        ({}, "['https://login.microsoftonline.com']"),
        (
            {"MS_AUTHORITY": "https://login.example.net/contoso.onmicrosoft.com"},
            "['https://login.example.net']",
        ),
        ({"MS_SIGN_IN_ORIGINS": "https://a.example, https://b.example"}, None),
    ],
)
def test_setup_forms_may_go_to_the_sign_in_origin_derived_from_ms_authority(extra, origins):
    show = "from django.conf import settings; print(settings.MS_SIGN_IN_ORIGINS)"
    done = manage("shell", "-c", show, env=clean_env(**PRODUCTION, **extra))
    assert done.returncode == 0, done.stderr
    expected = origins or "['https://a.example', 'https://b.example']"
    assert done.stdout.strip().splitlines()[-1] == expected


def test_the_graph_sandbox_can_answer_scopes_as_full_uris_but_nothing_else():
    show = "from django.conf import settings; print(settings.GRAPH_SANDBOX_SCOPE_FORM)"
    done = manage("shell", "-c", show, env=clean_env(DEBUG="1", GRAPH_SANDBOX_SCOPE_FORM="URI"))
    assert done.stdout.strip().splitlines()[-1] == "uri"
    refused = manage("check", env=clean_env(DEBUG="1", GRAPH_SANDBOX_SCOPE_FORM="urls"))
    assert refused.returncode != 0
    assert "GRAPH_SANDBOX_SCOPE_FORM must be one of short, uri" in refused.stderr


@pytest.mark.django_db
def test_invitee_links_signed_before_a_secret_key_rotation_keep_working(alices_things, settings):
    from booking.tokens import booking_from_token

    _page, _connection, links = alices_things
    token = links["cancel"].split("/bookings/", 1)[1].split("/", 1)[0]
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "y" * 30
    assert booking_from_token(token) is None  # without the old key, the link is dead

    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert booking_from_token(token) is not None


def test_sentry_dsn_turns_error_reporting_on_with_our_scrubbing():
    script = (
        "import sentry_sdk; from sentry_sdk.scope import should_send_default_pii; "
        "o = sentry_sdk.get_client().options; "
        "print(sentry_sdk.get_client().is_active(), should_send_default_pii(), "
        "getattr(o['before_send'], '__name__', None), o['max_request_body_size'], o['environment'])"
    )
    sentry = {"SENTRY_DSN": "http://key@127.0.0.1:9/1", "SENTRY_ENVIRONMENT": "staging"}
    on = manage("shell", "-c", script, env=clean_env(DEBUG="1", **sentry))
    off = manage("shell", "-c", script, env=clean_env(DEBUG="1"))

    assert on.stdout.splitlines()[-1].split() == [
        "True",
        "False",
        "event_scrub",
        "never",
        "staging",
    ]
    assert off.stdout.splitlines()[-1].split()[0] == "False", off.stderr


@pytest.mark.parametrize(("flag", "expected"), [(None, "True"), ("1", "True"), ("0", "False")])
def test_prepared_statements_are_on_for_postgresql_unless_turned_off(flag, expected):
    # Off behind a pooler that moves a client between server sessions (ops.prepared).
    extra = {} if flag is None else {"DATABASE_PREPARED_STATEMENTS": flag}
    done = manage(
        "shell",
        "-c",
        "from django.conf import settings; "
        "options = settings.DATABASES['default'].get('OPTIONS', {}); "
        "print('cursor_factory' in options and 'connection_factory' in options)",
        env=clean_env(**PRODUCTION, **extra),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == expected
