"""Two-factor sign-in: required by an organization's admin, set up with an app, then
asked at every log-in; recovery codes work once."""

from __future__ import annotations

import re
import time

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Organization

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice, *, offset: int = 0) -> str:
    return str(
        totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    ).zfill(device.digits)


def _log_in(client, email: str, password: str):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_an_admin_requires_it_and_a_member_must_set_it_up_before_setup(client, org, host, teammate):
    organization, _ = org
    admin = client
    admin.force_login(host)
    answer = admin.post(
        reverse("team:organization"), {"name": "Contoso", "require_two_factor": "on"}
    )
    assert answer.status_code == 302
    assert Organization.objects.get(pk=organization.pk).require_two_factor
    admin.logout()

    member = client
    _log_in(member, "bob@example.com", "bob-password-1")
    detour = member.get("/setup/booking-pages/")
    assert detour.status_code == 302
    assert detour["Location"].startswith(reverse("accounts:two_factor_setup"))
    page = member.get(detour["Location"])
    assert page.status_code == 200
    assert "<svg" in page.content.decode()  # the QR code to scan
    device = TOTPDevice.objects.get(user=teammate, confirmed=False)
    assert member.post(detour["Location"], {"code": "000000"}).status_code == 400
    time.sleep(1.1)  # django-otp makes the next try wait a second after a failure
    done = member.post(detour["Location"], {"code": _code(device)})
    assert done.status_code == 200
    codes = re.findall(r"<code>(\w+)</code>", done.content.decode())
    assert len(codes) == 10
    assert member.get("/setup/booking-pages/").status_code == 200

    # The next log-in asks for a code; a recovery code works once.
    member.logout()
    _log_in(member, "bob@example.com", "bob-password-1")
    assert member.get("/setup/").status_code == 302
    verify = reverse("accounts:two_factor_verify")
    assert member.post(verify, {"code": "999999"}).status_code == 400
    time.sleep(1.1)
    assert (
        member.post(verify, {"code": codes[0], "next": "/setup/profile/"})["Location"]
        == "/setup/profile/"
    )
    assert member.get("/setup/").status_code == 200
    member.logout()
    _log_in(member, "bob@example.com", "bob-password-1")
    assert member.post(verify, {"code": codes[0]}).status_code == 400  # used up
    time.sleep(1.1)
    assert member.post(verify, {"code": codes[1]}).status_code == 302


def test_without_the_requirement_nobody_is_asked_and_it_can_be_turned_on_and_off(client, org, host):
    client.force_login(host)
    assert client.get("/setup/").status_code == 200
    setup = reverse("accounts:two_factor_setup")
    client.get(setup)
    device = TOTPDevice.objects.get(user=host)
    assert client.post(setup, {"code": _code(device)}).status_code == 200
    assert client.post(reverse("accounts:two_factor_off")).status_code == 302
    assert not TOTPDevice.objects.filter(user=host).exists()


def test_the_verify_page_never_sends_people_off_site(client, org, host):
    client.force_login(host)
    client.get(reverse("accounts:two_factor_setup"))
    device = TOTPDevice.objects.get(user=host)
    client.post(reverse("accounts:two_factor_setup"), {"code": _code(device)})
    client.logout()
    _log_in(client, "alice@example.com", "alice-password-1")
    # The code used to confirm cannot be used again: take the next one.
    answer = client.post(
        reverse("accounts:two_factor_verify"),
        {"code": _code(device, offset=1), "next": "https://evil.example/"},
    )
    assert answer.status_code == 302
    assert answer["Location"] == reverse("setup:home")


def test_the_secret_and_the_recovery_codes_are_never_kept_by_a_cache(client, org, host):
    """The setup page shows the app's shared secret (as text and QR code), and its answers
    the recovery codes: like a new API token or webhook secret, never cacheable."""
    client.force_login(host)
    setup = reverse("accounts:two_factor_setup")
    shown = client.get(setup)
    assert "no-store" in shown["Cache-Control"]
    device = TOTPDevice.objects.get(user=host)
    confirmed = client.post(setup, {"code": _code(device)})
    assert len(re.findall(r"<code>(\w+)</code>", confirmed.content.decode())) == 10
    assert "no-store" in confirmed["Cache-Control"]
    renewed = client.post(reverse("accounts:two_factor_codes"))
    assert len(re.findall(r"<code>(\w+)</code>", renewed.content.decode())) == 10
    assert "no-store" in renewed["Cache-Control"]


def test_a_session_waiting_for_its_second_factor_cannot_accept_an_invitation(
    client, org, host, django_user_model, django_capture_on_commit_callbacks
):
    from django.core import mail

    from accounts.models import Membership
    from accounts.services import invitation_create

    organization, _ = org
    loner = django_user_model.objects.create_user("lone@example.com", "lone-password-1")
    device = TOTPDevice.objects.create(user=loner, name="Authenticator app", confirmed=True)
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            organization=organization, email=loner.email, role="admin", invited_by=host
        )
    link = re.search(r"https?://\S+/accounts/invitations/\S+/", mail.outbox[-1].body).group(0)
    path = "/" + link.split("/", 3)[3]

    _log_in(client, "lone@example.com", "lone-password-1")  # the password, not the code
    for answer in (client.get(path), client.post(path)):
        assert answer.status_code == 302
        assert answer["Location"].startswith(reverse("accounts:two_factor_verify"))
    assert not Membership.objects.filter(user=loner).exists()

    # Other forms of the account wait for the code too; the log-in steps do not.
    refused = client.post(reverse("accounts:two_factor_codes"))
    assert refused["Location"].startswith(reverse("accounts:two_factor_verify"))
    came_back = client.post(reverse("accounts:two_factor_verify"), {"code": _code(device)})
    assert came_back.status_code == 302
    assert client.post(path).status_code == 302
    assert Membership.objects.get(user=loner).organization == organization


def test_the_admin_site_asks_for_the_second_factor(client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss@example.com", "boss-password-1")
    TOTPDevice.objects.create(user=boss, name="Authenticator app", confirmed=True)
    _log_in(client, "boss@example.com", "boss-password-1")
    answer = client.get("/admin/")
    assert answer["Location"].startswith(reverse("accounts:two_factor_verify"))


def test_each_form_sent_is_checked_for_the_second_factor_every_time(client, host):
    """Whether a path acts as the account is kept per path (accounts.middleware): the
    same form sent again is still stopped, and the public booking API never is."""
    TOTPDevice.objects.create(user=host, name="Authenticator app", confirmed=True)
    host.set_password("host-password-1")
    host.save()
    _log_in(client, host.email, "host-password-1")  # the password, not the code
    for _ in range(3):
        refused = client.post(reverse("accounts:two_factor_codes"))
        assert refused["Location"].startswith(reverse("accounts:two_factor_verify"))
        public = client.post(
            reverse("booking:api-bookings", args=["no-such-page"]),
            data="{}",
            content_type="application/json",
        )
        assert public.status_code == 404  # the API's own answer, not the detour
        assert public.json()["message"] == "No booking page takes bookings at this address."


def test_the_right_code_sent_while_wrong_ones_make_it_wait_says_to_wait(client, host):
    # django-otp refuses every code for 1, 2, 4 … seconds after wrong ones, the right one
    # too: "that code is not right" made a person doubt the code their app showed.
    client.force_login(host)
    setup = reverse("accounts:two_factor_setup")
    client.get(setup)
    device = TOTPDevice.objects.get(user=host, confirmed=False)
    for _ in range(3):  # the third makes the next wait 4 seconds
        time.sleep(2.1)
        assert client.post(setup, {"code": "000000"}).status_code == 400
    answer = client.post(setup, {"code": _code(device)}, HTTP_ACCEPT_LANGUAGE="de")
    assert answer.status_code == 429
    assert 1 <= int(answer["Retry-After"]) <= 4
    html = answer.content.decode()
    assert re.search(r"Zu viele falsche Codes\. Warten Sie [1-4] Sekunden? und", html)
    assert "stimmt nicht" not in html

    time.sleep(4.1)
    device.refresh_from_db()
    assert client.post(setup, {"code": _code(device)}).status_code == 200

    client.logout()
    _log_in(client, host.email, "alice-password-1")
    verify = reverse("accounts:two_factor_verify")
    assert client.post(verify, {"code": "000000"}).status_code == 400
    answer = client.post(verify, {"code": _code(device, offset=1)})
    assert "Too many wrong codes. Wait 1 second, then" in answer.content.decode()
