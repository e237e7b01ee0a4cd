"""Every page a host or an invitee sees: one h1, a main landmark, a label on every field,
and every aria reference pointing at an element that exists (else a screen reader
announces nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.test import RequestFactory
from django.urls import reverse

from tests.support.booking import editor_data
from tests.support.pages import public_urls, setup_urls

pytestmark = pytest.mark.django_db

FIELDS = {"input", "select", "textarea"}
UNLABELLED_INPUTS = {"hidden", "submit", "button", "reset", "image"}
BLOCKS = {"ul", "ol", "div", "table", "form", "section", "p", "h1", "h2", "h3"}


@dataclass
class Structure:
    ids: list[str] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)  # (attribute, id)
    labelled_for: set[str] = field(default_factory=set)
    unlabelled: list[str] = field(default_factory=list)
    h1: int = 0
    main: int = 0
    # Blocks opened inside a <p>: a browser closes the <p> first, so the <p> (and
    # whatever aria-describedby points at it) ends up empty.
    blocks_in_p: list[str] = field(default_factory=list)
    # Table headers with no text (a screen reader names the column with nothing).
    empty_headers: int = 0


class _Parser(HTMLParser):
    """Collects ids, aria references, labels and fields outside <template> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.page = Structure()
        self._labels = 0  # open <label> elements: a field inside one is labelled
        self._templates = 0
        self._fields: list[tuple[dict[str, str], bool]] = []
        self._paragraphs = 0
        self._header_text: list[str] | None = None  # the text of an open <th>

    def handle_data(self, data: str) -> None:
        if self._header_text is not None:
            self._header_text.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "template":
            self._templates += 1
        if self._templates:
            return
        if "id" in a:
            self.page.ids.append(a["id"])
        if tag in BLOCKS and self._paragraphs:
            self.page.blocks_in_p.append(tag)
        if tag == "p":
            self._paragraphs += 1
        for name in ("aria-describedby", "aria-labelledby", "aria-controls"):
            self.page.references += [(name, ref) for ref in a.get(name, "").split()]
        if tag == "label":
            self._labels += 1
            if a.get("for"):
                self.page.labelled_for.add(a["for"])
        elif tag == "h1":
            self.page.h1 += 1
        elif tag == "main":
            self.page.main += 1
        elif tag == "th":
            self._header_text = [a.get("aria-label", "")]
        elif tag in FIELDS and a.get("type", "") not in UNLABELLED_INPUTS:
            self._fields.append((a, self._labels > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self._templates -= 1
        elif tag == "label" and not self._templates:
            self._labels -= 1
        elif tag == "p" and not self._templates:
            self._paragraphs = max(0, self._paragraphs - 1)
        elif tag == "th" and self._header_text is not None:
            self.page.empty_headers += not "".join(self._header_text).strip()
            self._header_text = None

    def close(self) -> None:
        super().close()
        for attrs, wrapped in self._fields:
            named = attrs.get("aria-label") or attrs.get("aria-labelledby")
            if not (wrapped or named or attrs.get("id") in self.page.labelled_for):
                self.page.unlabelled.append(attrs.get("name") or attrs.get("id") or "?")


def structure(html: str) -> Structure:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page


def assert_well_formed(response) -> None:
    assert response.status_code in (200, 400, 404, 500), response.status_code
    page = structure(response.content.decode())
    missing = [(name, ref) for name, ref in page.references if ref not in page.ids]
    assert missing == [], f"aria references to nothing: {missing}"
    assert page.unlabelled == [], f"fields without a label: {page.unlabelled}"
    assert sorted({i for i in page.ids if page.ids.count(i) > 1}) == []
    assert page.blocks_in_p == [], f"blocks inside a <p>: {page.blocks_in_p}"
    assert page.empty_headers == 0, "a table column header without a name"
    assert (page.h1, page.main) == (1, 1)


def test_setup_pages_are_well_formed(host_client, alices_things):
    page, connection, _ = alices_things
    for url in setup_urls(page, connection):
        assert_well_formed(host_client.get(url))


def test_integration_and_team_pages_are_well_formed(host_client, host, alices_things):
    """With a live token, an endpoint that has a delivery, and an organization."""
    from accounts.services import organization_create_for
    from booking.services.bookings import Invitee, booking_create
    from integrations.tokens import token_create
    from integrations.webhooks import endpoint_create
    from tests.support.booking import at, workday

    page, _, _ = alices_things
    organization_create_for(user=host, name="Contoso")
    token_create(owner=host, name="CRM")
    endpoint, _ = endpoint_create(
        owner=host, url="http://127.0.0.1:9/hook", events=["booking.created"]
    )
    booking_create(
        page=page,
        start=at(workday("Europe/London"), 11),
        invitee=Invitee(name="Eve", email="eve@example.com", time_zone="UTC"),
    )
    assert endpoint.deliveries.exists()
    for url in (
        reverse("integrations:tokens"),
        reverse("integrations:webhooks"),
        reverse("integrations:webhook", args=[endpoint.pk]),
        reverse("team:home"),
        reverse("team:page_create"),
        reverse("pages:working_hours"),
    ):
        assert_well_formed(host_client.get(url))


def test_invalid_setup_forms_are_well_formed(host_client, alices_things):
    page, _, _ = alices_things
    wrong_page = editor_data(
        title="",
        slug="Not A Slug!",
        duration_minutes="-5",
        hours=[(0, "nine", "17:00"), (1, "09:00", "25:00")],
        overrides=[{"date": "someday", "start": "08:00", "end": "soon"}],
    )
    refused = host_client.post(reverse("pages:create"), wrong_page)
    assert refused.content.count(b'class="error"') >= 5
    assert_well_formed(refused)
    assert_well_formed(host_client.post(reverse("pages:edit", args=[page.pk]), {}))
    # An empty POST leaves these forms unbound; a wrong value shows their errors.
    profile = host_client.post(reverse("setup:profile"), {"name": "a\nb", "time_zone": "Mars"})
    assert b'class="error"' in profile.content
    assert_well_formed(profile)


def test_public_and_sign_in_pages_are_well_formed(client, alices_things):
    page, _, links = alices_things
    for url in [*public_urls(page, links), reverse("booking:page", args=["nobody"])]:
        assert_well_formed(client.get(url))


def test_sign_in_forms_with_errors_are_well_formed(client, host):
    """Each error is what its field's aria-describedby names, and help text stays whole."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    wrong = {
        "name": "a\nb",
        "email": "not-an-email",
        "time_zone": "Mars",
        "password1": "a-long-pass-phrase",
        "password2": "another-pass-phrase",
    }
    pages = [
        client.post(reverse("accounts:signup"), wrong),
        client.post(reverse("accounts:login"), {"username": "not-an-email", "password": ""}),
        client.post(reverse("accounts:password_reset"), {"email": "not-an-email"}),
    ]
    uid = urlsafe_base64_encode(force_bytes(host.pk))
    token = default_token_generator.make_token(host)
    form = client.get(reverse("accounts:password_reset_confirm", args=[uid, token]))
    pages.append(client.post(form["Location"], {"new_password1": "x", "new_password2": "y"}))
    for response in pages:
        assert b'aria-invalid="true"' in response.content
        assert_well_formed(response)


def test_not_found_and_server_error_pages_are_ours_and_well_formed(client, settings):
    from django.views.defaults import server_error

    settings.DEBUG = False
    response = client.get("/bookings/not-a-booking-link/")
    assert response.status_code == 404
    assert "There is no page at this address" in response.content.decode()
    assert_well_formed(response)
    failed = server_error(RequestFactory().get("/"))
    assert failed.status_code == 500
    assert "Something went wrong on our side" in failed.content.decode()
    assert_well_formed(failed)


def test_a_request_django_refuses_to_read_gets_our_400_page(client):
    # A Host header the site does not serve, a Content-Length that is not a number: Django
    # answers 400 from its 400.html, or its own bare page when there is none.
    for response in (
        client.get("/book/intro/", HTTP_HOST="evil.example"),
        client.post("/accounts/login/", CONTENT_LENGTH="abc"),
    ):
        assert response.status_code == 400
        assert "This request could not be read" in response.content.decode()
        assert_well_formed(response)


def test_the_database_outage_page_is_german_for_german_readers():
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("de"):
        page = render_to_string("503.html", {"site_name": "ScheduleOnce"})
    assert "erreicht seine Datenbank gerade nicht" in page
    assert "cannot reach its database" not in page


def test_opening_a_forms_address_is_a_405_page_that_says_why(host_client, alices_things):
    # Django's require_POST answers an empty 405, which browsers replace with their own
    # error screen ("This page isn't working"); a host who opens the address from the
    # history gets ours, with the Allow header kept.
    page_pk = alices_things[0].pk
    for name in ("pages:toggle", "pages:duplicate"):
        response = host_client.get(reverse(name, args=[page_pk]))
        assert response.status_code == 405
        assert response["Allow"] == "POST"
        assert "cannot be opened on its own" in response.content.decode()
        page = structure(response.content.decode())
        assert (page.h1, page.main) == (1, 1)
    assert host_client.head(reverse("pages:toggle", args=[page_pk])).content == b""


def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_favicon(client, alices_things):
    # Without a <link rel="icon">, every browser fetches /favicon.ico: a 404 in the
    # console of every page.
    import re

    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    page, _, links = alices_things
    for url in [reverse("accounts:login"), *public_urls(page, links)]:
        html = client.get(url).content.decode()
        [href] = re.findall(r'<link rel="icon" href="([^"]+)"', html)
        assert href == static("img/favicon.svg"), url
    assert finders.find("img/favicon.svg")
