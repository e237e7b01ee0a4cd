"""Every form a page shows, sent back with junk in its fields.

Each page is read as a browser reads it; the names of the fields in its forms are taken
from the HTML, and hypothesis fills them (and a few names of its own) with odd text:
NUL bytes, lone surrogates' neighbours, right-to-left marks, control characters, very
long values, repeated keys, numbers where text goes and text where numbers go. Whatever
arrives, the answer is never a 5xx, and a refused form (4xx) leaves everything stored as
it was. Alice (an admin with a connected calendar, a page, a team page, a booking, a
webhook endpoint, an API token and a pending invitation) sends Setup's forms; nobody in
particular sends the public ones (sign up, log in, password reset and its link, an
invitation's link).

tests/booking/test_public_http_fuzz.py covers the booking API, the invitee's links and
/api/v1; this covers the HTML forms.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Invitation, Membership, Organization, Role, User
from accounts.services import invitation_create, invitation_token
from booking.models import Booking, BookingPage
from booking.services.pages import page_create
from calendars.models import Calendar, CalendarConnection
from integrations.models import ApiToken, EventType, WebhookEndpoint
from integrations.tokens import token_create
from integrations.webhooks import endpoint_create
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
odd_text = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\u202eevil",
            "\ufeff",
            "\r\n\r\nX-Injected: 1",
            "\U0001d518\U0001d52b\u0301\u200d",
            "x" * 5000,
            "-1",
            "0",
            "99999999999999999999999",
            "1e309",
            "NaN",
            "true",
            "[]",
            "{}",
            "<script>alert(1)</script>",
            "../../etc/passwd",
            "Europe/London",
            "2026-02-30",
            "25:61",
            "javascript:alert(1)",
            "http://169.254.169.254/latest",
            "//evil.example/",
        ]
    ),
)
EXTRA_NAMES = ["id", "pk", "host", "owner", "organization", "role", "is_admin", "next"]

# The watched tables: a refused form must leave them as they were.
WATCHED = (
    User,
    Organization,
    Membership,
    Invitation,
    BookingPage,
    Booking,
    CalendarConnection,
    Calendar,
    WebhookEndpoint,
    ApiToken,
)


class _Forms(HTMLParser):
    """The POST forms of a page: each its action and its fields' (name, value) as sent."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._fields: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._fields = []
            self.forms.append((a.get("action", ""), self._fields))
        elif self._fields is None or (not a.get("name") and tag not in ("option",)):
            return
        elif tag == "input" and a.get("type", "text") not in ("submit", "button", "image"):
            ticked = a.get("type") in ("checkbox", "radio")
            if ticked and "checked" not in a:
                return
            self._fields.append((a["name"], a.get("value", "on" if ticked else "")))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select" and self._select is not None and self._fields is not None:
            chosen = [value for value, selected in self._options if selected] or [
                value for value, _ in self._options[:1]
            ]
            self._fields.extend((self._select, value) for value in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._fields is not None:
            self._fields.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None


def _stored() -> dict:
    return {
        model.__name__: sorted(map(repr, model.objects.order_by("pk").values()))
        for model in WATCHED
    }


def post_forms(html: str, page: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """(action, fields as a browser would send them) of each POST form on the page, the
    CSRF token left out (the test client does not check it)."""
    parser = _Forms()
    parser.feed(html)
    return [
        (action or page, tuple((k, v) for k, v in fields if k != "csrfmiddlewaretoken"))
        for action, fields in parser.forms
    ]


@st.composite
def junk_forms(draw, fields: tuple[tuple[str, str], ...]):
    """The form as the page filled it, with some of its values replaced by junk, some
    keys repeated or dropped, and perhaps a few names of its own."""
    pairs = list(fields)
    names = sorted({name for name, _ in pairs}) or ["x"]
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(names + EXTRA_NAMES))
        how = draw(st.sampled_from(["replace", "repeat", "drop"]))
        if how != "repeat":
            pairs = [(key, value) for key, value in pairs if key != name]
        if how != "drop":
            pairs.append((name, draw(odd_text)))
    return pairs


def _encode(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import quote_plus

    # Repeated keys stay repeated; text that UTF-8 cannot carry is dropped by the encoder.
    return "&".join(
        f"{quote_plus(key)}={quote_plus(value.encode('utf-8', 'surrogatepass'))}"
        for key, value in pairs
    )


def send(client: Client, target: str, pairs) -> None:
    before = _stored()
    answer = client.generic(
        "POST", target, _encode(pairs), content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code < 500, (target, pairs, answer.content[:500])
    if 400 <= answer.status_code < 500:
        assert _stored() == before, (target, pairs, answer.status_code)


@pytest.fixture
def alice(client, org, host, teammate, team_calendars):
    organization, _carol = org
    page_create(host=host, fields={"title": "Intro", "slug": "intro"})
    make_team_page(org=org, admin=host, kind="round_robin", users=[host, teammate], slug="sales")
    endpoint_create(owner=host, url="http://127.0.0.1:9/hook", events=[EventType.BOOKING_CREATED])
    token_create(owner=host, name="CRM")
    invitation_create(
        organization=organization, email="new@example.com", role=Role.MEMBER, invited_by=host
    )
    client.force_login(host)
    return client


SETUP_PAGES = [
    "/setup/profile/",
    "/setup/booking-pages/",
    "/setup/booking-pages/new/",
    "/setup/booking-pages/working-hours/",
    "/setup/team/",
    "/setup/team/pages/new/",
    "/setup/integration/calendar/",
    "/setup/integration/webhooks/",
    "/setup/profile/api-tokens/",
    "/setup/profile/password/",
    "/setup/meetings/",
]


def _pages_with_ids(host) -> list[str]:
    page = BookingPage.objects.get(slug="intro")
    team_page = BookingPage.objects.get(slug="sales")
    booking_paths = [reverse(name, args=[page.pk]) for name in ("pages:edit", "pages:calendars")]
    endpoint = WebhookEndpoint.objects.get(owner=host)
    return [
        *booking_paths,
        reverse("team:page_members", args=[team_page.pk]),
        reverse("integrations:webhook", args=[endpoint.pk]),
        reverse("team:remove", args=[Membership.objects.exclude(user=host).first().pk]),
    ]


def _setup_forms(client, host) -> list[tuple[str, list[str]]]:
    forms = []
    for path in [*SETUP_PAGES, *_pages_with_ids(host)]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        forms.extend(post_forms(answer.content.decode(), path))
    # Logging out is a form too, but it ends the session the others need.
    return sorted({form for form in forms if "logout" not in form[0]})


@override_settings(ACCOUNT_FORM_RATE_LIMIT=0, BOOKING_RATE_LIMIT=0)
def test_every_setup_form_takes_junk_without_a_server_error(alice, host):
    forms = _setup_forms(alice, host)
    assert len(forms) >= 20  # the pages were read and their forms found

    @FUZZ
    @given(data=st.data())
    def each(data):
        target, fields = data.draw(st.sampled_from(forms))
        send(alice, target, data.draw(junk_forms(fields)))

    each()


@pytest.fixture
def public_forms(host, org):
    organization, _ = org
    invitation = invitation_create(
        organization=organization, email="newcomer@example.com", role=Role.MEMBER, invited_by=host
    )
    uid = urlsafe_base64_encode(force_bytes(host.pk))
    reset = f"/accounts/reset/{uid}/{default_token_generator.make_token(host)}/"
    pages = [
        "/accounts/signup/",
        "/accounts/login/",
        "/accounts/password-reset/",
        reverse("accounts:invitation", args=[invitation_token(invitation)]),
        reset,
    ]
    forms = []
    for path in pages:
        client = Client()
        answer = client.get(path, follow=True)
        assert answer.status_code == 200, path
        final = answer.redirect_chain[-1][0] if answer.redirect_chain else path
        forms.extend(post_forms(answer.content.decode(), final))
    return sorted(set(forms))


@override_settings(
    ACCOUNT_FORM_RATE_LIMIT=0,
    PASSWORD_RESET_LIMIT_PER_ADDRESS=0,
    LOGIN_FAILURE_LIMIT=0,
    LOGIN_FAILURE_LIMIT_PER_IP=0,
)
def test_every_public_form_takes_junk_without_a_server_error(public_forms):
    assert len(public_forms) >= 5

    @FUZZ
    @given(data=st.data())
    def each(data):
        target, fields = data.draw(st.sampled_from(public_forms))
        send(Client(), target, data.draw(junk_forms(fields)))

    each()


def test_every_setup_and_public_form_needs_its_csrf_token(alice, host, public_forms):
    """Sent from another site (the browser's cookie, no token): 403, nothing changed.
    Only the provider's callback (its one-time state instead), the token API and Graph's
    notifications are exempt, and none of them is a form a page shows."""
    forms = _setup_forms(alice, host) + public_forms
    forged = Client(enforce_csrf_checks=True)
    forged.cookies = alice.cookies  # the logged-in browser, tricked by another site
    before = _stored()
    answers = {
        target: forged.generic(
            "POST", target, _encode(list(fields)), content_type="application/x-www-form-urlencoded"
        ).status_code
        for target, fields in forms
    }
    assert {target: status for target, status in answers.items() if status != 403} == {}
    assert _stored() == before
