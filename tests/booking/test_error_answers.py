"""Input that used to reach a 500, and a database that goes away.

Under ``/api/`` every error is the documented JSON body
``{"message": …, "errors": {…}}``; pages get a page. Both with ``DEBUG`` off (as in
production) and on (as under ``make run``): Django answers these differently.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from booking.models import Booking
from tests.support.booking import book, slots_url, workday
from tests.support.net import free_port

pytestmark = pytest.mark.django_db

DEBUG_MODES = [pytest.param(False, id="DEBUG=0"), pytest.param(True, id="DEBUG=1")]


@pytest.fixture(params=DEBUG_MODES)
def debug(request, settings):
    settings.DEBUG = request.param
    settings.BOOKING_RATE_LIMIT = 0
    return request.param


@pytest.fixture
def anyone():
    """A client that sees a 500 as a response, as a browser or script would."""
    return Client(raise_request_exception=False)


def assert_error_body(response, status: int, field: str | None = "body") -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    # No shared cache keeps an error either, whoever gave it (was missing on Django's
    # refusals and unknown addresses).
    assert "no-store" in response.get("Cache-Control", "")
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert body["message"]
    if field:
        assert body["errors"][field]
    return body


def bookings_url(page) -> str:
    return reverse("booking:api-bookings", args=[page.slug])


# --- input that used to reach a 500 ------------------------------------------------------------


def test_json_nested_950_deep_is_a_400_not_a_recursion_error(anyone, page, debug):
    depth = 947
    body = '{"name": ' + "[" * depth + "]" * depth + "}"
    assert len(body) < 2048

    response = anyone.post(bookings_url(page), data=body, content_type="application/json")

    assert "nested" in assert_error_body(response, 400)["errors"]["body"][0]
    assert not Booking.objects.exists()


def test_more_than_a_thousand_query_parameters_are_a_json_400(anyone, page, debug):
    query = "&".join(f"p{n}=1" for n in range(1001))
    url = slots_url(page.slug, start=workday("UTC").isoformat(), end=workday("UTC").isoformat())

    response = anyone.get(f"{url}&tz=UTC&{query}")

    assert "query parameters" in assert_error_body(response, 400)["message"]


@pytest.mark.parametrize("length", ["abc", "\u00b2"])  # "²" passes str.isdigit()
def test_a_content_length_that_is_no_number_is_a_json_400(anyone, page, debug, length):
    response = anyone.post(
        bookings_url(page), data=b"{}", content_type="application/json", CONTENT_LENGTH=length
    )

    assert "Content-Length" in assert_error_body(response, 400)["message"]


def test_a_body_over_djangos_upload_limit_is_a_json_413(anyone, page, debug, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    start = f"{workday('Europe/London')}T10:00:00+00:00"
    body = json.dumps({"start": start, "name": "x" * 1500, "email": "a@b.co", "timezone": "UTC"})

    response = anyone.post(bookings_url(page), data=body, content_type="application/json")

    assert_error_body(response, 413)


@pytest.mark.parametrize("trouble", ["too many fields", "too big"])
def test_a_form_post_to_the_api_that_django_cannot_read_is_a_json_error(
    anyone, page, debug, settings, trouble
):
    """Django reads a form body before our view runs (the CSRF check): what it refuses
    there is answered in the API's shape too."""
    if trouble == "too big":
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        data, status = "x=" + "y" * 2000, 413
    else:
        data, status = "&".join(f"f{n}=1" for n in range(1001)), 400
    url = slots_url(page.slug)

    response = anyone.post(url, data=data, content_type="application/x-www-form-urlencoded")

    assert_error_body(response, status, field=None)


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/accounts/signup/", "/book/intro/", "/bookings/x/", "/"]
)
def test_more_than_a_thousand_query_parameters_on_a_page_are_a_400_page(anyone, page, debug, path):
    # The view's refusal (400) used to become a 500 while its page was drawn: the page's
    # context read the same query again and was refused again.
    query = "&".join(f"p{n}=1" for n in range(1001))

    response = anyone.get(f"{path}?{query}")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "This request could not be read" in response.content.decode()


def test_any_other_error_under_api_is_the_json_body(anyone, debug):
    assert_error_body(anyone.get("/api/no-such-thing"), 404, field=None)


def test_pages_outside_the_api_keep_their_html(anyone, debug):
    response = anyone.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- the database goes away -------------------------------------------------------------------


@contextmanager
def database_gone():
    """Make the real database connection fail, as when PostgreSQL is stopped: the next
    query connects to a port where nothing listens (or, on SQLite, a file that cannot be
    opened). Restored afterwards."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
        connection.settings_dict["OPTIONS"] = {**saved["OPTIONS"], "connect_timeout": 2}
    else:
        connection.settings_dict["NAME"] = "/nonexistent-folder/gone.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_while_the_database_is_down_the_booking_api_answers_503_with_retry_after(
    anyone, page, debug
):
    day = workday("Europe/London")
    with database_gone():
        slots = anyone.get(slots_url(page.slug, start=str(day), end=str(day), tz="UTC"))
        booked = book(anyone, page.slug, start=f"{day}T10:00:00+00:00")

    for response in (slots, booked):
        body = assert_error_body(response, 503, field=None)
        assert "try again" in body["message"]
        assert int(response["Retry-After"]) > 0
    # Back again: the same requests work.
    assert anyone.get(slots_url(page.slug, start=str(day), end=str(day), tz="UTC")).json()["slots"]


@pytest.mark.django_db(transaction=True)
def test_while_the_database_is_down_pages_say_try_again_in_a_moment(client, host, page, debug):
    client.force_login(host)
    with database_gone():
        pages = {
            "setup": client.get(reverse("setup:home")),
            "booking page": client.get(reverse("booking:page", args=[page.slug])),
            "log in": Client().post(
                reverse("accounts:login"), {"username": host.email, "password": "x"}
            ),
        }

    for name, response in pages.items():
        text = response.content.decode()
        assert response.status_code == 503, (name, text[:300])
        assert response["Content-Type"].startswith("text/html")
        assert int(response["Retry-After"]) > 0
        assert "try again in a moment" in text, name
        assert "Traceback" not in text
        assert "OperationalError" not in text
    assert client.get(reverse("setup:home")).status_code == 200


def test_brackets_inside_text_do_not_count_as_nesting(client, page, settings):
    settings.BOOKING_RATE_LIMIT = 0
    start = f"{workday('Europe/London')}T10:00:00+00:00"
    name = '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \\" {{{{{{{{{{{{{{{{{{{{{{{{{'
    body = f'{{"start": "{start}", "name": "{name}", "email": "a@b.co", "timezone": "UTC"}}'

    response = client.post(bookings_url(page), data=body, content_type="application/json")

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("twice", "key"),
    [
        ('"name": "Dana", "name": "Eve"', "name"),
        ('"name": "Dana", "answers": [{"question": "a", "question": "b"}]', "question"),
    ],
)
def test_a_body_that_names_a_field_twice_is_a_400_that_says_which(anyone, page, debug, twice, key):
    # Python's JSON keeps the last of two, other readers the first: the booking would be
    # made for whichever name a proxy or log did not show. Nothing is booked.
    start = f"{workday('Europe/London')}T10:00:00+00:00"
    body = f'{{"start": "{start}", {twice}, "email": "a@b.co", "timezone": "UTC"}}'

    response = anyone.post(bookings_url(page), data=body, content_type="application/json")

    answer = assert_error_body(response, 400)
    assert f'"{key}" more than once' in answer["message"]
    assert not Booking.objects.exists()


@pytest.mark.parametrize("path", ["/api/booking-pages/x/slots", "/setup/"])
def test_a_database_failure_outside_any_view_is_answered_the_same_way(rf, path):
    """Django's handler500 (production), as when a middleware's own query fails."""
    from django.db import OperationalError

    from ops.views import server_error

    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(rf.get(path))

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    if path.startswith("/api/"):
        assert set(json.loads(response.content)) == {"message", "errors"}
    assert "try again in a moment" in response.content.decode()
