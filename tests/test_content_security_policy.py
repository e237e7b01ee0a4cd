"""One Content-Security-Policy on every page: no inline script or style, no framing of
Setup or the admin, forms only to ourselves (and, from Setup, to Microsoft's sign-in).

The browser tests prove pages work under it: their pages report any violation
(``tests/support/browser.py``), which fails the test.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.support.pages import public_urls, setup_urls

pytestmark = pytest.mark.django_db

MICROSOFT = "https://login.microsoftonline.com"


def policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"{response.wsgi_request.path}: no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class _Inline(HTMLParser):
    """Inline scripts (data blocks aside), style elements and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and not a.get("src") and a.get("type") != "application/json":
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        if "style" in a:
            self.found.append(f"style= on <{tag}>")
        self.found += [f"{name}= on <{tag}>" for name in a if name.startswith("on")]


def inline_code(response) -> list[str]:
    parser = _Inline()
    parser.feed(response.content.decode())
    return parser.found


EMBEDDABLE_NAMES = {"booking:page", "booking:manage", "booking:cancel", "booking:reschedule"}


def assert_strict(response, *, frame_ancestors=("'none'",)) -> dict[str, list[str]]:
    assert response.status_code in (200, 302, 400, 404, 405), response.status_code
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    # Only the public booking, confirmation, cancel and reschedule pages may be framed.
    assert directives["frame-ancestors"] == list(frame_ancestors), response.wsgi_request.path
    if frame_ancestors == ("'none'",):
        assert response["X-Frame-Options"] == "DENY"
    else:
        assert "X-Frame-Options" not in response
    assert directives["form-action"][0] == "'self'"
    assert not [v for values in directives.values() for v in values if "unsafe" in v]
    assert inline_code(response) == [], response.wsgi_request.path
    return directives


def test_setup_pages_send_the_policy_and_may_send_forms_to_microsofts_sign_in(
    host_client, alices_things, settings
):
    settings.MS_AUTHORITY = f"{MICROSOFT}/common"
    settings.MS_SIGN_IN_ORIGINS = [MICROSOFT]
    page, connection, _ = alices_things
    for url in setup_urls(page, connection):
        directives = assert_strict(host_client.get(url))
        # Connect and Reconnect (in the lobby and in every Setup page's banner) lead there.
        expected = ["'self'", MICROSOFT] if url.startswith("/setup/") else ["'self'"]
        assert directives["form-action"] == expected, url


def test_calendar_colours_are_shown_without_inline_style(host_client, alices_things):
    page, connection, _ = alices_things
    connection.calendars.update(color="#127a3a")
    for url in [reverse("calendars:integration"), reverse("pages:calendars", args=[page.pk])]:
        markup = host_client.get(url).content.decode()
        assert re.search(r'<svg class="swatch"[^>]*>.*fill="#127a3a"', markup, re.S), url


def test_public_pages_send_the_policy_and_forms_go_only_to_us(client, alices_things):
    page, _, links = alices_things
    for url in public_urls(page, links):
        response = client.get(url)
        embeddable = response.resolver_match.view_name in EMBEDDABLE_NAMES
        framers = ("*",) if embeddable else ("'none'",)
        assert assert_strict(response, frame_ancestors=framers)["form-action"] == ["'self'"], url


def test_a_page_with_allowed_sites_may_be_framed_by_those_only(client, alices_things):
    page, _, links = alices_things
    page.embed_origins = "https://www.example.com\nhttps://*.example.org:8443"
    page.save()
    sites = ("https://www.example.com", "https://*.example.org:8443")
    for url in [f"/book/{page.slug}/", links["manage"], links["cancel"], links["reschedule"]]:
        assert_strict(client.get(url), frame_ancestors=sites)
    for url in ["/accounts/login/", "/setup/", links["manage"] + "invite.ics"]:
        assert policy(client.get(url))["frame-ancestors"] == ["'none'"], url


def test_the_admin_cannot_be_framed(admin_client):
    assert_strict(admin_client.get(reverse("admin:index")))
    assert_strict(admin_client.get(reverse("admin:calendars_pushedevent_changelist")))


@pytest.mark.django_db(databases=["default", "graph_sandbox"])
def test_the_graph_sandboxs_pages_send_the_policy_too(client, settings):
    if "graph_sandbox" not in settings.INSTALLED_APPS:
        pytest.skip("the Graph sandbox is not installed")
    assert_strict(client.get("/graph-sandbox/"))


POLICY = {
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
}


def test_the_header_is_exactly_the_policy(client):
    # Directives in the order django-csp's set of names gives them (Python's hash seed).
    header = client.get("/accounts/login/")["Content-Security-Policy"]
    assert header.split("; ") == sorted(POLICY, key=header.index)
    assert len(header) == len("; ".join(POLICY))


def kinds_of_pages(page, links) -> list[str]:
    """Pages of three kinds of policy: plain, Setup's (forms on to Microsoft), and the
    booking page with the page of a booking made on it (framed by the page's sites)."""
    return ["/accounts/login/", "/setup/", f"/book/{page.slug}/", links["manage"]]


def test_the_header_is_django_csps_own_built_once_per_kind_of_page(
    host_client, alices_things, settings, monkeypatch
):
    import csp.utils

    from ops.csp import ContentSecurityPolicyMiddleware, _policy_text

    page, _, links = alices_things
    page.embed_origins = "https://www.example.com"
    page.save()
    settings.MS_SIGN_IN_ORIGINS = [MICROSOFT]
    built, asked = [], []
    config = csp.utils.default_config  # the settings' policy, read as each text is built
    monkeypatch.setattr(csp.utils, "default_config", lambda *a: built.append(a) or config(*a))
    get_parts = ContentSecurityPolicyMiddleware.get_policy_parts
    monkeypatch.setattr(
        ContentSecurityPolicyMiddleware,
        "get_policy_parts",
        lambda *a, **k: asked.append(a) or get_parts(*a, **k),
    )
    _policy_text.cache_clear()

    def headers() -> dict[str, str]:
        urls = kinds_of_pages(page, links)
        return {url: host_client.get(url)["Content-Security-Policy"] for url in urls}

    ours = headers()
    assert headers() == ours
    assert len(asked) == 8  # once a response (django-csp asks twice: the report-only header)
    assert len(built) == 3  # once per kind of page (django-csp: once a response)
    # django-csp's own middleware (its two passes, as when a report-only policy is set)
    # writes the very same header.
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    assert headers() == ours
    assert set(ours[f"/book/{page.slug}/"].split("; ")) == {
        *POLICY - {"frame-ancestors 'none'"},
        "frame-ancestors https://www.example.com",
    }
    assert set(ours["/setup/"].split("; ")) == {
        *POLICY - {"form-action 'self'"},
        f"form-action 'self' {MICROSOFT}",
    }
