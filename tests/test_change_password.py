"""A logged-in host changes their password on Setup → Profile → Change password.

The session it was changed in stays logged in under a new id, every other session of
the account is logged out, the owner is emailed (in their language, no secret in it),
and a wrong current password is refused (400) and counted as a failed log-in (429 with
Retry-After past the limit)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

OLD = "alice-password-1"
NEW = "a-brand-new-pass-phrase-2"
URL = "/setup/profile/password/"


def _logged_in(host) -> Client:
    client = Client()
    assert client.post(reverse("accounts:login"), {"username": host.email, "password": OLD})
    assert client.get("/setup/").status_code == 200
    return client


def _change(client, current=OLD, new=NEW, again=None):
    return client.post(
        URL,
        {"old_password": current, "new_password1": new, "new_password2": again or new},
    )


def test_profile_leads_to_the_form_with_labels_and_autocomplete(client, host):
    client.force_login(host)
    profile = client.get("/setup/profile/").content.decode()
    assert f'href="{URL}"' in profile
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<label for="id_old_password">Current password</label>' in html
    assert 'name="old_password" autocomplete="current-password"' in html
    assert html.count('autocomplete="new-password"') == 2
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_changed_password_replaces_the_old_one(host):
    client = _logged_in(host)
    answer = _change(client)
    assert answer.status_code == 302
    assert answer["Location"] == "/setup/profile/"
    shown = client.get("/setup/profile/").content.decode()
    assert "Your password was changed." in shown
    assert authenticate(username=host.email, password=OLD) is None
    assert authenticate(username=host.email, password=NEW) is not None
    refused = Client().post(reverse("accounts:login"), {"username": host.email, "password": OLD})
    assert refused.status_code == 400


def test_this_session_stays_with_a_new_id_and_every_other_one_is_logged_out(host):
    laptop = _logged_in(host)
    phone = _logged_in(host)
    before = laptop.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert _change(laptop).status_code == 302
    assert laptop.cookies[django_settings.SESSION_COOKIE_NAME].value != before
    assert laptop.get("/setup/").status_code == 200
    assert phone.get("/setup/").status_code == 302  # to the log-in page


def test_a_wrong_current_password_is_refused_and_changes_nothing(host):
    client = _logged_in(host)
    other = _logged_in(host)
    answer = _change(client, current="not-my-password")
    assert answer.status_code == 400
    assert "That is not your current password." in answer.content.decode()
    assert authenticate(username=host.email, password=OLD) is not None
    assert mail.outbox == []
    assert other.get("/setup/").status_code == 200


def test_a_weak_or_mistyped_new_password_is_refused_with_the_validators_message(host):
    client = _logged_in(host)
    weak = _change(client, new="password")
    assert weak.status_code == 400
    assert "This password is too common." in weak.content.decode()
    mistyped = _change(client, again="a-brand-new-pass-phrase-3")
    assert mistyped.status_code == 400
    assert "The two password fields" in mistyped.content.decode()
    assert authenticate(username=host.email, password=OLD) is not None


def test_wrong_current_passwords_past_the_log_in_limit_answer_429(host, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    client = _logged_in(host)
    for _ in range(3):
        assert _change(client, current="guess").status_code == 400
    paused = _change(client)  # the right one too, while paused
    assert paused.status_code == 429
    assert 0 < int(paused["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW
    assert "Too many wrong passwords." in paused.content.decode()
    assert authenticate(username=host.email, password=OLD) is not None
    # It counts as logging in: logging in to the account is paused as well.
    login = Client().post(reverse("accounts:login"), {"username": host.email, "password": OLD})
    assert login.status_code == 429


@pytest.mark.parametrize(
    ("language", "subject", "line"),
    [
        ("", "Your ScheduleOnce password was changed", "If you did not, choose a new password"),
        ("de", "Ihr ScheduleOnce-Passwort wurde geändert", "Wenn nicht, wählen Sie jetzt"),
    ],
)
def test_the_owner_is_emailed_in_their_language_without_the_password(host, language, subject, line):
    host.language = language
    host.save(update_fields=["language"])
    client = _logged_in(host)
    assert _change(client).status_code == 302
    [email] = mail.outbox
    assert email.to == [host.email]
    assert email.subject == subject
    assert line in email.body
    assert host.email in email.body
    assert "/accounts/password-reset/" in email.body
    old_hash = host.password
    host.refresh_from_db()
    for secret in (NEW, OLD, old_hash, host.password):
        assert secret not in email.body
        assert secret not in email.subject


def test_logged_out_it_asks_to_log_in_and_without_csrf_token_it_is_refused(host):
    assert Client().get(URL).status_code == 302
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(host)
    assert _change(forged).status_code == 403
    assert authenticate(username=host.email, password=OLD) is not None


def test_with_two_factor_it_needs_the_code_and_stays_verified_after(host):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    app = TOTPDevice.objects.create(user=host, name="Authenticator app", confirmed=True)
    client = Client()
    client.post(reverse("accounts:login"), {"username": host.email, "password": OLD})
    # Half way through logging in (password, no code yet): no changing the password.
    assert _change(client).status_code == 302
    assert authenticate(username=host.email, password=OLD) is not None
    code = f"{totp(app.bin_key, app.step, app.t0, app.digits, app.drift):06d}"
    client.post(reverse("accounts:two_factor_verify"), {"code": code})
    before = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert _change(client).status_code == 302
    assert client.get("/setup/").status_code == 200  # still verified, no new code asked
    stale = Client()
    stale.cookies[django_settings.SESSION_COOKIE_NAME] = before
    assert stale.get("/setup/").status_code == 302
