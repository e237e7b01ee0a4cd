"""What an outside client sees for a method a page does not answer, and for a form sent
without its CSRF token: a 405 naming the methods, and a 403 page of ours that says what
to do (not Django's bare one)."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory

from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db

READ_ONLY_PATHS = (
    "/",
    "/healthz",
    "/time-zones.json",
    "/api/v1/openapi.json",
)


@pytest.fixture
def outside() -> Client:
    """A client with no CSRF cookie, as every outside check is."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def invitee_paths(client, page) -> list[str]:
    answer = book(client, page.slug, start=at(workday("Europe/London", days_ahead=3), 10))
    assert answer.status_code == 201
    manage = answer["Location"].removeprefix("http://testserver")
    return [f"/book/{page.slug}/", manage, manage + "invite.ics", manage + "join.json"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE", "OPTIONS"])
def test_read_only_addresses_answer_405_with_allow(outside, invitee_paths, method):
    for path in (*READ_ONLY_PATHS, *invitee_paths):
        response = outside.generic(method, path)
        assert response.status_code == 405, (method, path, response.status_code)
        assert response["Allow"] == "GET, HEAD", path


def test_the_slots_api_answers_head_as_get(outside, page):
    path = f"/api/booking-pages/{page.slug}/slots?start=2026-12-08&end=2026-12-08&tz=UTC"
    assert outside.head(path).status_code == 200
    refused = outside.put(path)
    assert refused.status_code == 405
    assert refused["Allow"] == "GET, HEAD"
    assert refused.json()["message"]


def test_a_form_without_its_csrf_token_gets_our_403_page(outside):
    response = outside.post("/accounts/login/", {"username": "a@example.com", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "<main" in html
    assert "reload the page and send it again" in html
    assert "<h1>This form has expired</h1>" in html  # not a bare "Not allowed"
    assert "<style>" not in html  # Django's own page: inline style our CSP blocks
    german = outside.post("/accounts/login/", {"username": "a"}, HTTP_ACCEPT_LANGUAGE="de")
    assert german.status_code == 403
    assert 'lang="de"' in german.content.decode()
    assert "reload the page" not in german.content.decode()
    assert "<h1>Dieses Formular ist abgelaufen</h1>" in german.content.decode()


def test_a_csrf_refusal_under_api_is_the_json_error_body(outside):
    # No view under /api/ takes a cookie-authenticated write today; should one come,
    # its refusal is still the API's body.
    from ops.views import csrf_failure

    response = csrf_failure(RequestFactory().post("/api/v1/bookings"), reason="x")
    assert response.status_code == 403
    assert json.loads(response.content) == {"message": "This request is not allowed.", "errors": {}}
