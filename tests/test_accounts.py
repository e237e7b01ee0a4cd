"""A host signs up, logs in, resets a password and finds Setup."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from accounts.models import Membership, Organization, Role

pytestmark = pytest.mark.django_db


def test_sign_up_lands_in_setup_with_its_sidebar(client, django_user_model):
    response = client.post(
        reverse("accounts:signup"),
        {
            "name": "Dana Host",
            "email": "Dana@Example.com",
            "time_zone": "Asia/Kolkata",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("setup:home")
    page = response.content.decode()
    assert 'aria-label="Setup"' in page
    assert "Calendar integration" in page
    assert "Booking pages" in page
    user = django_user_model.objects.get()
    assert user.email == "dana@example.com"
    assert user.time_zone == "Asia/Kolkata"


def test_sign_up_refuses_a_taken_email_whatever_its_case(client, host):
    response = client.post(
        reverse("accounts:signup"),
        {
            "name": "Again",
            "email": "ALICE@example.com",
            "time_zone": "UTC",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def _sign_up(client, email: str, **headers):
    return client.post(
        reverse("accounts:signup"),
        {
            "name": "Hanna Neu",
            "email": email,
            "time_zone": "Europe/Berlin",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
        **headers,
    )


def test_an_account_keeps_the_language_it_signed_up_in_for_its_emails(client, django_user_model):
    # Emails have no browser to ask: without this a German sign-up got English ones.
    _sign_up(client, "hanna@example.com", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert django_user_model.objects.get(email="hanna@example.com").language == "de"
    client.logout()
    _sign_up(client, "erin@example.com", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert django_user_model.objects.get(email="erin@example.com").language == "en"


def test_a_new_organization_is_named_as_the_persons_not_as_the_person(client):
    """Named "Hanna Neu", the organization read as if it were her: "Everyone in Hanna Neu"
    (webhooks), "join Hanna Neu" (invitations)."""
    _sign_up(client, "hanna@example.com", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    german = Membership.objects.get(user__email="hanna@example.com").organization
    assert german.name == "Organisation von Hanna Neu"
    client.logout()
    _sign_up(client, "erin@example.com", HTTP_ACCEPT_LANGUAGE="en-GB")
    english = Membership.objects.get(user__email="erin@example.com").organization
    assert english.name == "Hanna Neu's organization"


def test_organizations_still_named_after_their_founder_are_renamed_and_chosen_names_kept(
    django_user_model,
):
    def founded(email: str, name: str, language: str, organization: str) -> Organization:
        user = django_user_model.objects.create_user(
            email, "a-long-pass-phrase", name=name, language=language
        )
        named = Organization.objects.create(name=organization)
        Membership.objects.create(organization=named, user=user, role=Role.ADMIN)
        return named

    german = founded("hanna@example.com", "Hanna Neu", "de", "Hanna Neu")
    nameless = founded("kai@example.com", "", "", "kai")
    chosen = founded("erin@example.com", "Erin Old", "en", "Contoso")
    migration = importlib.import_module(
        "accounts.migrations.0008_organizations_named_for_their_people"
    )
    migration.defaults_rename(apps, None)
    for organization in (german, nameless, chosen):
        organization.refresh_from_db()
    assert german.name == "Organisation von Hanna Neu"
    assert nameless.name == "kai's organization"
    assert chosen.name == "Contoso"


def test_a_german_sign_up_with_a_taken_email_says_so_in_german(client, host):
    response = _sign_up(client, host.email, HTTP_ACCEPT_LANGUAGE="de-DE")
    assert response.status_code == 400
    assert "Ein Konto mit dieser E-Mail-Adresse gibt es bereits" in response.content.decode()


def test_a_sign_up_sent_with_a_mistake_starts_in_the_field_that_has_it(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "name": "Hanna Neu",
            "email": "hanna@example.com",
            "time_zone": "Europe/Berlin",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase-2",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert re.findall(r"<input[^>]*autofocus[^>]*>", html) == [
        re.search(r'<input[^>]*name="password2"[^>]*>', html).group(0)
    ]


def test_sign_up_refuses_an_unknown_time_zone(client, django_user_model):
    response = client.post(
        reverse("accounts:signup"),
        {
            "name": "Eve",
            "email": "eve@example.com",
            "time_zone": "Mars/Olympus_Mons",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not django_user_model.objects.exists()


def test_log_in_with_email_in_any_case_then_log_out(client, host):
    response = client.post(
        reverse("accounts:login"),
        {"username": "Alice@Example.COM", "password": "alice-password-1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("setup:home")
    assert response.context["user"] == host
    response = client.post(reverse("accounts:logout"), follow=True)
    assert response.context["user"].is_anonymous


def test_opening_the_log_out_address_asks_before_logging_out(host_client):
    # A bookmark or a typed /accounts/logout/ is a GET: it must not log out (a link on
    # another site could), but it should say what to do rather than show a blank 405.
    response = host_client.get(reverse("accounts:logout"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Log out?</h1>" in page
    assert f'action="{reverse("accounts:logout")}"' in page
    assert host_client.get(reverse("setup:home")).status_code == 200
    response = host_client.post(reverse("accounts:logout"), follow=True)
    assert response.context["user"].is_anonymous
    # Someone already logged out is sent to the log-in page.
    response = host_client.get(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")


def test_wrong_password_is_refused_with_a_message(client, host):
    response = client.post(
        reverse("accounts:login"), {"username": host.email, "password": "not-it"}
    )
    assert response.status_code == 400
    assert "do not match an account" in response.content.decode()


def _log_in(client, email, password, ip="192.0.2.10"):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, REMOTE_ADDR=ip
    )


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_FAILURE_LIMIT_PER_IP=0)
def test_too_many_wrong_passwords_pause_the_account_even_from_other_addresses(client, host):
    for attempt in range(3):
        assert _log_in(client, "Alice@example.com", f"guess-{attempt}").status_code == 400
    # From anywhere, even with the right password, until the window closes.
    paused = _log_in(client, host.email, "alice-password-1", ip="198.51.100.7")
    assert paused.status_code == 429
    assert 14 * 60 < int(paused["Retry-After"]) <= 15 * 60
    text = paused.content.decode()
    assert "Too many failed attempts to log in. Try again in 15 minutes" in text
    assert "or reset your password by email" in text
    assert "_auth_user_id" not in client.session
    # Another account is not paused.
    assert _log_in(client, "bob@example.com", "wrong").status_code == 400


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_FAILURE_LIMIT_PER_IP=0, LOGIN_FAILURE_WINDOW=1)
def test_the_pause_ends_when_its_window_closes(client, host, login_clock):
    for attempt in range(3):
        _log_in(client, host.email, f"guess-{attempt}")
    assert _log_in(client, host.email, "alice-password-1").status_code == 429
    login_clock.advance(1.2)
    response = _log_in(client, host.email, "alice-password-1")
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:landing")


@override_settings(LOGIN_FAILURE_LIMIT=3, LOGIN_FAILURE_LIMIT_PER_IP=0)
def test_a_successful_log_in_forgets_earlier_failures(client, host):
    for attempt in range(2):
        _log_in(client, host.email, f"guess-{attempt}")
    assert _log_in(client, host.email, "alice-password-1").status_code == 302
    client.post(reverse("accounts:logout"))
    for attempt in range(2):
        assert _log_in(client, host.email, f"again-{attempt}").status_code == 400
    assert _log_in(client, host.email, "alice-password-1").status_code == 302


@override_settings(LOGIN_FAILURE_LIMIT=0, LOGIN_FAILURE_LIMIT_PER_IP=4)
def test_one_address_trying_many_accounts_is_paused(client, host, teammate):
    for email in ["a@example.com", "b@example.com", "c@example.com", "d@example.com"]:
        assert _log_in(client, email, "password").status_code == 400
    assert _log_in(client, teammate.email, "bob-password-1").status_code == 429
    # Another address still gets in.
    assert _log_in(client, host.email, "alice-password-1", ip="203.0.113.5").status_code == 302


@pytest.mark.parametrize(
    "name", ["setup:home", "setup:profile", "calendars:integration", "pages:list"]
)
def test_setup_pages_need_a_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    ("name", "current"),
    [
        ("setup:home", "Getting started"),
        ("calendars:integration", "Calendar integration"),
        ("pages:list", "Booking pages"),
        ("setup:profile", "Profile"),
    ],
)
def test_setup_sidebar_marks_the_current_section(host_client, name, current):
    page = host_client.get(reverse(name)).content.decode()
    assert re.search(rf'aria-current="page">{current}</a>', page)


def test_password_reset_by_email(client, host, settings):
    settings.SITE_URL = "https://book.example.com"
    # Asked for under another host name than SITE_URL's (a second allowed name):
    # the link in the email still names the site's public address.
    client.post(
        reverse("accounts:password_reset"), {"email": "alice@example.com"}, HTTP_HOST="localhost"
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    body = mail.outbox[0].body
    assert "localhost" not in body
    link = re.search(r"https://book\.example\.com(/accounts/reset/\S+/)", body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "brand-new-phrase-9", "new_password2": "brand-new-phrase-9"},
        follow=True,
    )
    assert "Password saved" in done.content.decode()
    host.refresh_from_db()
    assert host.check_password("brand-new-phrase-9")


def test_password_reset_for_unknown_email_sends_nothing_and_reveals_nothing(client, host):
    response = client.post(
        reverse("accounts:password_reset"), {"email": "nobody@example.com"}, follow=True
    )
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_profile_changes_time_zone(host_client, host):
    response = host_client.post(
        reverse("setup:profile"), {"name": "Alice H.", "time_zone": "Pacific/Chatham"}
    )
    assert response.status_code == 302
    host.refresh_from_db()
    assert host.time_zone == "Pacific/Chatham"


def test_a_name_must_be_one_line(host_client, host, client, django_user_model):
    # The host's name is in the subject of every invitee's email, which cannot hold a
    # line break.
    response = host_client.post(
        reverse("setup:profile"), {"name": "Alice\nBcc: eve@example.com", "time_zone": "UTC"}
    )
    assert response.status_code == 400
    assert "one line" in response.content.decode()
    host.refresh_from_db()
    assert host.name == "Alice Host"
    host_client.logout()
    response = client.post(
        reverse("accounts:signup"),
        {
            "name": "Eve\r\nBcc: x@example.com",
            "email": "eve@example.com",
            "time_zone": "UTC",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
        },
    )
    assert response.status_code == 400
    assert "one line" in response.content.decode()
    assert not django_user_model.objects.filter(email="eve@example.com").exists()


def test_hosts_added_in_the_admin_log_in_whatever_the_case_of_their_email(
    client, django_user_model, host
):
    admin = django_user_model.objects.create_superuser("root@example.com", "root-pass-123")
    client.force_login(admin)
    add = reverse("admin:accounts_user_add")
    password = {
        "usable_password": "true",
        "password1": "a-long-pass-phrase-1",
        "password2": "a-long-pass-phrase-1",
    }
    response = client.post(add, {"email": "Dana@Example.com", **password})
    assert response.status_code == 302
    # The same address in another case is the same person: refused, not a second account.
    again = client.post(add, {"email": "dana@EXAMPLE.com", **password})
    assert again.status_code == 200
    assert "already exists" in again.content.decode()
    client.logout()
    response = client.post(
        reverse("accounts:login"),
        {"username": "dana@example.com", "password": "a-long-pass-phrase-1"},
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("accounts:login", "Log in · ScheduleOnce"),
        ("accounts:signup", "Sign up · ScheduleOnce"),
        ("accounts:password_reset", "Reset your password · ScheduleOnce"),
        ("accounts:password_reset_done", "Check your email · ScheduleOnce"),
        ("accounts:password_reset_complete", "Password saved · ScheduleOnce"),
    ],
)
def test_account_pages_are_titled_with_the_product_not_the_host_name(client, name, title):
    # The browser tab and a screen reader's first words: "127.0.0.1:8000" is no title.
    page = client.get(reverse(name), HTTP_HOST="localhost").content.decode()
    assert re.search(r"<title>(.*?)</title>", page).group(1) == title


def test_sign_up_fields_say_what_they_are_for_autofill(client):
    # WCAG 1.3.5: browsers and assistive tools fill name and email for people.
    page = client.get(reverse("accounts:signup")).content.decode()
    inputs = {
        re.search(r'name="([^"]+)"', tag).group(1): tag for tag in re.findall(r"<input[^>]*>", page)
    }
    assert 'autocomplete="name"' in inputs["name"]
    assert 'autocomplete="email"' in inputs["email"]


@pytest.mark.django_db
def test_sign_up_starts_with_the_name(client):
    page = client.get("/accounts/signup/").text
    name = page.split('name="name"')[1].split(">")[0]
    email = page.split('name="email"')[1].split(">")[0]
    assert "autofocus" in name
    assert "autofocus" not in email


def _without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_a_log_in_with_mistakes_is_shown_again_with_400(client, host):
    # Like every other form: the page again, its message, and a 4xx.
    empty = client.post(reverse("accounts:login"), {"username": "", "password": ""})
    assert empty.status_code == 400
    assert "This field is required." in empty.content.decode()
    wrong = _log_in(client, host.email, "not-it")
    unknown = _log_in(client, "nobody@example.com", "not-it")
    # A wrong password and an unknown account read the same, status included.
    assert wrong.status_code == unknown.status_code == 400
    assert _without_csrf(wrong) == _without_csrf(unknown).replace("nobody@example.com", host.email)
    assert "do not match an account" in wrong.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_german_browser_reads_the_log_in_refusals_in_german(client, host, settings):
    settings.LOGIN_FAILURE_LIMIT = 1
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 0
    german = {"HTTP_ACCEPT_LANGUAGE": "de-DE"}
    wrong = client.post(
        reverse("accounts:login"), {"username": host.email, "password": "x"}, **german
    )
    assert "Check them and try again" not in wrong.content.decode()
    assert "Groß- und Kleinschreibung" in wrong.content.decode()
    paused = client.post(
        reverse("accounts:login"), {"username": host.email, "password": "x"}, **german
    )
    assert paused.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in paused.content.decode()
    assert "15 Minuten" in paused.content.decode()


def test_asking_for_a_reset_with_no_email_address_is_a_400_with_its_message(client, host):
    response = client.post(reverse("accounts:password_reset"), {"email": "not-an-address"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


def _reset_form_url(client, host) -> str:
    client.post(reverse("accounts:password_reset"), {"email": host.email})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[-1].body).group(1)
    return client.get(link, follow=True).redirect_chain[-1][0]


def test_a_new_password_with_mistakes_is_shown_again_with_400_and_nothing_changes(client, host):
    set_url = _reset_form_url(client, host)
    response = client.post(
        set_url, {"new_password1": "brand-new-phrase-9", "new_password2": "brand-new-phrase-8"}
    )
    assert response.status_code == 400
    assert "The two password fields didn" in response.content.decode()
    host.refresh_from_db()
    assert host.check_password("alice-password-1")
    # The link still works for a second try.
    done = client.post(
        set_url, {"new_password1": "brand-new-phrase-9", "new_password2": "brand-new-phrase-9"}
    )
    assert done.status_code == 302


def test_a_reset_link_that_no_longer_works_is_a_400_that_says_so(client, host):
    set_url = _reset_form_url(client, host)
    client.post(
        set_url, {"new_password1": "brand-new-phrase-9", "new_password2": "brand-new-phrase-9"}
    )
    used = client.get(set_url)  # used once already
    assert used.status_code == 400
    assert "This link no longer works" in used.content.decode()
    forged = client.get(reverse("accounts:password_reset_confirm", args=["MQ", "nope-nope"]))
    assert forged.status_code == 400
    assert "This link no longer works" in forged.content.decode()


def test_getting_started_says_which_steps_are_done(host_client, host, settings):
    """A new host sees the three steps to take; once connected and with a page, the
    steps say so (the account, how many pages) and the third gives the link to share."""
    from booking.services.pages import page_create
    from calendars.models import CalendarConnection

    page = host_client.get(reverse("setup:home")).content.decode()
    assert "Sign in with Microsoft" in page
    assert "Done:" not in page
    assert "/book/" not in page

    CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    page_create(host=host, fields={"title": "Intro call", "slug": "intro"}, questions=[])
    page = host_client.get(reverse("setup:home")).content.decode().replace("<wbr>", "")
    assert re.search(r"<strong>Done:</strong> connected to alice@contoso\.com\.", page)
    assert re.search(r"<strong>Done:</strong> you have 1 booking page\.", page)
    assert f'href="{settings.SITE_URL}/book/intro/" class="public-link">' in page
    assert "Sign in with Microsoft" not in page

    host.language = "de"
    host.save(update_fields=["language"])
    page = host_client.get(reverse("setup:home"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    page = page.replace("<wbr>", "")  # where the address may wrap
    assert "Erledigt:" in page
    assert "verbunden mit alice@contoso.com." in page
