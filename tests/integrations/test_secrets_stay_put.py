"""A host's whole day, then a search for every secret it involved wherever it must not be.

Alice signs up, turns on two-factor sign-in, makes an API token and a webhook endpoint,
gets a booking (delivered to her receiver, which answers 500), uses the API with her
token and with a revoked one, fails to log in, resets her password and logs in again.
Each secret is shown where it has to be (the password nowhere; the app's secret on the
setup page; the token and the signing secret once, in the answer that made them), and
nowhere else: not in a log line, an email, a later page, an API answer, the meetings
export, a webhook's body or Django's admin.

(tests/calendars/test_token_scan.py does the same for the tokens Microsoft issues.)
"""

from __future__ import annotations

import logging
import re
from base64 import b32encode

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from integrations.models import ApiToken, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-Battery-7781"
NEW_PASSWORD = "Staple-Lantern-Orbit-4402"


def _code(device: TOTPDevice) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return str(value).zfill(device.digits)


def _shown(pattern: str, html: str) -> str:
    found = re.search(pattern, html)
    assert found, pattern
    return found.group(1)


def _found(secrets: dict[str, str], text: str) -> set[str]:
    return {name for name, value in secrets.items() if value and value in text}


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def settings_for_loopback(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True  # the receiver listens on 127.0.0.1


def test_no_secret_of_a_hosts_day_leaks(
    everything_logged,
    capfd,
    receiver,
    tasks_in_process,
    django_capture_on_commit_callbacks,
    settings_for_loopback,
):
    alice = Client()
    seen: list[str] = []  # every page and answer after the one that showed a secret

    signup = alice.post(
        reverse("accounts:signup"),
        {
            "name": "Alice",
            "email": "alice@example.com",
            "time_zone": "Europe/London",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert signup.status_code == 302
    first_session = alice.cookies["sessionid"].value

    setup = alice.get(reverse("accounts:two_factor_setup")).content.decode()
    device = TOTPDevice.objects.get(confirmed=False)
    app_secret = b32encode(device.bin_key).decode().rstrip("=")
    app_key = device.key  # the same secret, as django-otp stores it (hex)
    assert app_secret[:4] in setup  # shown (grouped by four) to type into the app
    done = alice.post(reverse("accounts:two_factor_setup"), {"code": _code(device)})
    recovery = re.findall(r"<code>(\w+)</code>", done.content.decode())
    assert len(recovery) == 10

    made = alice.post(reverse("integrations:tokens"), {"name": "CRM"}).content.decode()
    api_token = _shown(r"(so_pat_[A-Za-z0-9_-]+)", made)
    added = alice.post(
        reverse("integrations:webhooks"),
        {
            "url": receiver.url,
            "events": ["booking.created"],
            "description": "CRM",
            "scope": "personal",
        },
    ).content.decode()
    signing_secret = _shown(r"(whsec_[A-Za-z0-9+/=]+)", added)
    receiver.secrets.append(signing_secret)
    receiver.script = [500]  # the delivery fails: its answer is kept and shown

    page = alice.post(
        reverse("pages:create"), _page_form(alice), follow=True
    )  # the form as Setup fills it
    assert page.status_code == 200
    slug = _shown(r"/book/([a-z0-9-]+)/", page.content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        booked = _book(slug)
    assert booked.status_code == 201, booked.content
    assert receiver.attempts  # delivered, signed, and refused by the receiver (retried later)

    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_token}")
    seen += [
        api.get("/api/v1/bookings").content.decode(),
        api.get("/api/v1/booking-pages").content.decode(),
    ]
    for path in [
        "/setup/",
        "/setup/profile/",
        reverse("integrations:tokens"),
        reverse("integrations:webhooks"),
        reverse("integrations:webhook", args=[WebhookEndpoint.objects.get().pk]),
        reverse("meetings:list"),
    ]:
        seen.append(alice.get(path).content.decode())
    seen.append(b"".join(alice.get(reverse("meetings:export")).streaming_content).decode())
    alice.post(reverse("integrations:token-revoke", args=[ApiToken.objects.get().pk]))
    seen.append(api.get("/api/v1/bookings").content.decode())  # revoked now

    alice.post(reverse("accounts:logout"))
    for wrong in (PASSWORD + "x", PASSWORD.lower()):
        seen.append(
            Client()
            .post(reverse("accounts:login"), {"username": "alice@example.com", "password": wrong})
            .content.decode()
        )
    Client().post(reverse("accounts:password_reset"), {"email": "alice@example.com"})
    link = _shown(r"(/accounts/reset/\S+/)", mail.outbox[-1].body)
    resetter = Client()
    form = resetter.get(link, follow=True)
    resetter.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    again = Client()
    again.post(
        reverse("accounts:login"), {"username": "alice@example.com", "password": NEW_PASSWORD}
    )
    last_session = again.cookies["sessionid"].value

    secrets = {
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "app secret": app_secret,
        "app key": app_key,
        "API token": api_token,
        "signing secret": signing_secret,
        "first session id": first_session,
        "last session id": last_session,
        "SECRET_KEY": settings.SECRET_KEY,
        "token encryption key": settings.TOKEN_ENCRYPTION_KEYS[0],
        **{f"recovery code {n}": code for n, code in enumerate(recovery)},
    }
    console = capfd.readouterr()
    logs = "\n".join([everything_logged.text, console.out, console.err])
    assert "Bad Request" in logs or "login" in logs.lower()  # the logs were captured
    assert _found(secrets, logs) == set()
    assert _found(secrets, "\n".join(m.subject + m.body for m in mail.outbox)) == set()
    assert _found(secrets, "\n".join(seen)) == set()
    bodies = "\n".join(WebhookDelivery.objects.values_list("body", flat=True))
    bodies += "\n".join(str(a.headers) + a.body.decode() for a in receiver.attempts)
    assert _found(secrets, bodies) == set()
    assert _found(secrets, _admin_pages()) == set()


def _page_form(client: Client) -> dict:
    from tests.teams.test_every_form_fuzz import post_forms

    html = client.get(reverse("pages:create")).content.decode()
    [(_, fields)] = [
        f for f in post_forms(html, reverse("pages:create")) if "page-title" in dict(f[1])
    ]
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    data["page-title"] = ["Intro call"]
    data["page-slug"] = ["intro-call"]
    return data


def _book(slug: str):
    from tests.support.booking import at, workday

    start = at(workday("Europe/London", days_ahead=3), 10)
    return Client().post(
        reverse("booking:api-bookings", args=[slug]),
        {
            "start": start.isoformat(),
            "name": "Dana",
            "email": "dana@example.com",
            "timezone": "Europe/London",
        },
        content_type="application/json",
    )


def _admin_pages() -> str:
    from accounts.models import User

    operator = Client()
    operator.force_login(User.objects.create_superuser("ops@example.com", "ops-password-1"))
    pages = []
    for model in (
        "accounts/user",
        "integrations/apitoken",
        "integrations/webhookendpoint",
        "integrations/webhookdelivery",
        "otp_totp/totpdevice",
        "otp_static/staticdevice",
    ):
        listing = f"/admin/{model}/"
        answer = operator.get(listing)
        assert answer.status_code == 200, listing
        pages.append(answer.content.decode())
        changes = re.findall(rf'href="{listing}(\d+)/change/', pages[-1])
        assert changes, listing  # each holds one of Alice's
        for pk in changes[:3]:
            change = operator.get(f"{listing}{pk}/change/")
            assert change.status_code == 200
            pages.append(change.content.decode())
    return "\n".join(pages)
