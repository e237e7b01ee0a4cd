"""Forms anyone may send answer 429 with Retry-After past their limits; the second
log-in step gives the session a new id, and a password reset ends the other sessions."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


def _sign_up(client, number: int, **headers):
    return client.post(
        reverse("accounts:signup"),
        {
            "name": f"Person {number}",
            "email": f"person{number}@example.com",
            "time_zone": "UTC",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
        },
        **headers,
    )


def test_sign_ups_past_the_limit_from_one_address_answer_429_and_make_no_account(client, settings):
    settings.ACCOUNT_FORM_RATE_LIMIT = 2
    assert [_sign_up(Client(), n).status_code for n in range(2)] == [302, 302]
    refused = _sign_up(client, 2)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert "Too many attempts from here. Try again in 1 minute." in refused.content.decode()
    assert 'value="person2@example.com"' in refused.content.decode()  # kept to send again
    assert "a-long-pass-phrase-1" not in refused.content.decode()
    assert not get_user_model().objects.filter(email="person2@example.com").exists()
    # Another client address is counted on its own.
    assert _sign_up(client, 3, REMOTE_ADDR="192.0.2.7").status_code == 302


def _ask_reset(client, email: str, **headers):
    return client.post(reverse("accounts:password_reset"), {"email": email}, **headers)


def test_reset_emails_for_one_address_stop_at_the_limit_from_any_client(client, host, settings):
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 2
    answers = [
        _ask_reset(client, host.email, REMOTE_ADDR=f"192.0.2.{n}").status_code for n in range(3)
    ]
    assert answers == [302, 302, 429]
    assert len(mail.outbox) == 2
    # An address with no account is counted the same way: the answer tells nothing.
    unknown = [
        _ask_reset(client, "nobody@example.com", REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(3)
    ]
    assert unknown == answers


def test_reset_requests_from_one_client_stop_at_the_form_limit(client, host, settings):
    settings.ACCOUNT_FORM_RATE_LIMIT = 2
    assert _ask_reset(client, "a@example.com").status_code == 302
    assert _ask_reset(client, "b@example.com").status_code == 302
    refused = _ask_reset(client, host.email)
    assert refused.status_code == 429
    assert refused["Retry-After"].isdigit()
    assert "Too many attempts from here." in refused.content.decode()
    assert mail.outbox == []


def _code(device: TOTPDevice) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return str(value).zfill(device.digits)


@pytest.fixture
def alices_app(host):
    return TOTPDevice.objects.create(user=host, name="Authenticator app", confirmed=True)


def test_a_code_sent_while_wrong_ones_make_it_wait_is_a_429_with_retry_after(
    client, host, alices_app
):
    client.post(reverse("accounts:login"), {"username": host.email, "password": "alice-password-1"})
    TOTPDevice.objects.filter(pk=alices_app.pk).update(
        throttling_failure_count=3, throttling_failure_timestamp=timezone.now()
    )
    answer = client.post(reverse("accounts:two_factor_verify"), {"code": _code(alices_app)})
    assert answer.status_code == 429
    assert 1 <= int(answer["Retry-After"]) <= 4
    assert "Too many wrong codes." in answer.content.decode()


def test_a_recovery_code_sent_while_wrong_ones_make_it_wait_is_a_429_and_stays_good(
    client, host, alices_app
):
    from django_otp.plugins.otp_static.models import StaticDevice

    from accounts.two_factor import recovery_codes_replace

    codes = recovery_codes_replace(user=host)
    client.post(reverse("accounts:login"), {"username": host.email, "password": "alice-password-1"})
    StaticDevice.objects.filter(user=host).update(
        throttling_failure_count=3, throttling_failure_timestamp=timezone.now()
    )
    verify = reverse("accounts:two_factor_verify")
    answer = client.post(verify, {"code": codes[0]})
    assert answer.status_code == 429
    assert 1 <= int(answer["Retry-After"]) <= 4
    assert "then enter your recovery code again" in answer.content.decode()
    assert "not right" not in answer.content.decode()
    StaticDevice.objects.filter(user=host).update(throttling_failure_count=0)
    assert client.post(verify, {"code": codes[0]}).status_code == 302  # not used up


def test_the_second_factor_gives_the_session_a_new_id(client, host, alices_app):
    client.post(reverse("accounts:login"), {"username": host.email, "password": "alice-password-1"})
    half_way = client.cookies["sessionid"].value
    answer = client.post(reverse("accounts:two_factor_verify"), {"code": _code(alices_app)})
    assert answer.status_code == 302
    assert client.cookies["sessionid"].value != half_way
    assert client.get("/setup/").status_code == 200
    # The id from before the code reaches nothing: it is no session at all now.
    stale = Client()
    stale.cookies["sessionid"] = half_way
    detour = stale.get("/setup/")
    assert detour.status_code == 302
    assert detour["Location"].startswith(reverse("accounts:login"))


def test_a_password_reset_logs_every_other_session_out(client, host):
    client.post(reverse("accounts:login"), {"username": host.email, "password": "alice-password-1"})
    assert client.get("/setup/").status_code == 200
    Client().post(reverse("accounts:password_reset"), {"email": host.email})
    link = next(word for word in mail.outbox[-1].body.split() if "/accounts/reset/" in word)
    resetter = Client()
    form = resetter.get(link, follow=True)
    new = "a-brand-new-pass-phrase-2"
    done = resetter.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    # The session someone else may hold (a lost laptop) is over.
    assert client.get("/setup/").status_code == 302


ELSEWHERE = [
    "//evil.example/",
    "\\\\evil.example/",
    "/\\evil.example/",
    "\\/evil.example/",
    "https://evil.example/",
    "%2F%2Fevil.example/",
    "/%2F/evil.example/",
    "javascript:alert(1)",
    "http:evil.example",
    "///evil.example/",
    " //evil.example/",
    "\t//evil.example/",
]


@pytest.mark.parametrize("target", ELSEWHERE)
def test_next_never_leads_off_the_site_after_log_in_or_the_second_factor(
    client, host, alices_app, target
):
    from urllib.parse import quote, urljoin, urlsplit

    login = client.post(
        f"{reverse('accounts:login')}?next={quote(target, safe='')}",
        {"username": host.email, "password": "alice-password-1", "next": target},
    )
    verify = client.post(
        f"{reverse('accounts:two_factor_verify')}?next={quote(target, safe='')}",
        {"code": _code(alices_app), "next": target},
    )
    for answer in (login, verify):
        assert answer.status_code == 302
        # Where a browser goes: it reads "\\" as "/" and drops tabs and leading spaces.
        location = answer["Location"].replace("\\", "/").replace("\t", "").strip()
        where = urlsplit(urljoin("https://scheduleonce.example/accounts/login/", location))
        assert (where.scheme, where.netloc) == ("https", "scheduleonce.example"), location
