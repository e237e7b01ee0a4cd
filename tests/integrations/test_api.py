"""The read API with personal access tokens, and its OpenAPI 3.1 document."""

from __future__ import annotations

import json
from datetime import timedelta
from datetime import timezone as fixed_offset

import pytest
from django.utils import timezone
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from booking.events import Actor
from booking.services.bookings import Invitee, booking_cancel, booking_create
from booking.services.pages import page_create
from integrations.models import ApiToken
from integrations.tokens import token_create, token_revoke
from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(host):
    _row, value = token_create(owner=host, name="CRM")
    return value


@pytest.fixture
def api(client, token):
    def get(path: str, *, bearer: str | None = token, **params):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
        return client.get(path, params, **headers)

    return get


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json()


def check(spec: dict, response, path: str, method: str = "get") -> dict:
    """The answer's JSON, after checking it against the document's schema for it."""
    body = response.json()
    operation = spec["paths"][path][method]
    declared = operation["responses"][str(response.status_code)]
    schema = declared["content"]["application/json"]["schema"]
    # The schema as the root of a document that holds the components its $refs name.
    OAS31Validator({**schema, "components": spec["components"]}).validate(body)
    return body


def make(page, hour: int, *, email: str = "dana@example.com"):
    return booking_create(
        page=page,
        start=at(workday("Europe/London"), hour),
        invitee=Invitee(name="Dana", email=email, time_zone="Asia/Kolkata"),
    )


def test_the_document_is_valid_openapi_3_1(spec):
    validate_spec(spec)
    assert spec["openapi"].startswith("3.1")
    assert "/api/booking-pages/{slug}/bookings" in spec["paths"]
    assert "booking.cancelled" in spec["webhooks"]


def test_a_token_reads_its_owners_bookings_and_pages(api, spec, page, teammate):
    booking = make(page, 10)
    other_page = page_create(host=teammate, fields={"title": "Bob's", "slug": "bob"})
    make(other_page, 16, email="eve@example.com")  # Bob's: never shown to Alice's token

    listing = check(spec, api("/api/v1/bookings"), "/api/v1/bookings")
    assert [row["id"] for row in listing["data"]] == [str(booking.uuid)]
    assert listing["next_cursor"] is None

    one = check(spec, api(f"/api/v1/bookings/{booking.uuid}"), "/api/v1/bookings/{id}")
    assert one["invitee"]["email"] == "dana@example.com"
    assert one["page"]["slug"] == page.slug

    pages = check(spec, api("/api/v1/booking-pages"), "/api/v1/booking-pages")
    assert [p["slug"] for p in pages["data"]] == [page.slug]


def test_another_hosts_booking_is_not_found(api, spec, teammate):
    other_page = page_create(host=teammate, fields={"title": "Bob's", "slug": "bob"})
    theirs = make(other_page, 16)
    response = api(f"/api/v1/bookings/{theirs.uuid}")
    assert response.status_code == 404
    check(spec, response, "/api/v1/bookings/{id}")
    assert api("/api/v1/bookings/not-a-uuid").status_code == 404


def test_cursor_pagination_walks_every_booking_once_newest_first(api, spec, page):
    made = [make(page, hour) for hour in (9, 10, 11, 12, 13)]
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = check(spec, api("/api/v1/bookings", **params), "/api/v1/bookings")
        seen += [row["id"] for row in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(b.uuid) for b in reversed(made)]


def test_booking_pages_come_by_title_a_page_at_a_time_and_all_at_once_by_default(api, spec, host):
    from booking.models import BookingPage

    titles = ["Zed", "Alpha", "Mid", "Alpha", "Beta"]  # two of the same title: ids decide
    for index, title in enumerate(titles):
        page_create(host=host, fields={"title": title, "slug": f"page-{index}"})
    expected = [page.slug for page in BookingPage.objects.filter(host=host).order_by("title", "pk")]

    # A client that ignores pagination gets every page in one answer, as before.
    everything = check(spec, api("/api/v1/booking-pages"), "/api/v1/booking-pages")
    assert [row["slug"] for row in everything["data"]] == expected
    assert everything["next_cursor"] is None

    seen, cursor, answers = [], None, 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = check(spec, api("/api/v1/booking-pages", **params), "/api/v1/booking-pages")
        answers += 1
        seen += [row["slug"] for row in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert answers == 3

    # A cursor of the bookings list, junk, a bad limit or an unknown parameter: a clear 400.
    for hour in (10, 11):
        make(BookingPage.objects.get(slug="page-0"), hour, email=f"i{hour}@example.com")
    booking_cursor = api("/api/v1/bookings", limit="1").json()["next_cursor"]
    assert booking_cursor
    for params, field in (
        ({"cursor": booking_cursor}, "cursor"),
        ({"cursor": "bm90IG91cnM"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "²"}, "limit"),
        ({"order": "title"}, "order"),
    ):
        refused = api("/api/v1/booking-pages", **params)
        assert refused.status_code == 400, params
        assert field in check(spec, refused, "/api/v1/booking-pages")["errors"], params


def test_order_by_start_and_filters(api, spec, page):
    late, early, cancelled = make(page, 15), make(page, 9), make(page, 12)
    booking_cancel(booking=cancelled, actor=Actor.HOST)
    by_start = api("/api/v1/bookings", order="start", status="confirmed").json()
    assert [row["id"] for row in by_start["data"]] == [str(early.uuid), str(late.uuid)]
    only_cancelled = api("/api/v1/bookings", status="cancelled").json()
    assert [row["id"] for row in only_cancelled["data"]] == [str(cancelled.uuid)]
    day = workday("Europe/London")
    window = api(
        "/api/v1/bookings", **{"from": at(day, 11).isoformat(), "to": at(day, 13).isoformat()}
    )
    assert [row["id"] for row in window.json()["data"]] == [str(cancelled.uuid)]
    # An offset PostgreSQL cannot read (it stops at 15:59) is read in UTC (was a 500).
    far_east = at(day, 11).astimezone(fixed_offset(timedelta(hours=23, minutes=59)))
    window = api(
        "/api/v1/bookings", **{"from": far_east.isoformat(), "to": at(day, 13).isoformat()}
    )
    assert [row["id"] for row in window.json()["data"]] == [str(cancelled.uuid)]
    assert api("/api/v1/bookings", page=page.slug).json()["data"]
    assert api("/api/v1/bookings", page="someone-else").json()["data"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "maybe"}, "status"),
        ({"from": "yesterday"}, "from"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"order": "title"}, "order"),
        ({"colour": "blue"}, "colour"),
        ({"page": "9" * 40}, None),
        ({"page": "a\x00b"}, "page"),  # was a 500 on PostgreSQL
        ({"limit": "²"}, "limit"),  # a digit to isdigit(), not to int(): was a 500
        ({"page": "²"}, None),
        ({"from": "0001-01-01T00:00:00+14:00"}, "from"),  # before year 1 in UTC
    ],
)
def test_bad_queries_get_a_400_that_says_which_field(api, spec, page, params, field):
    response = api("/api/v1/bookings", **params)
    if field is None:  # an unknown page is simply no bookings
        assert response.status_code == 200
        return
    assert response.status_code == 400
    body = check(spec, response, "/api/v1/bookings")
    assert field in body["errors"]


def test_a_cursor_of_another_order_is_refused(api, page):
    for hour in (9, 10):
        make(page, hour)
    cursor = api("/api/v1/bookings", limit="1").json()["next_cursor"]
    response = api("/api/v1/bookings", limit="1", order="start", cursor=cursor)
    assert response.status_code == 400


def test_without_a_token_or_with_a_revoked_one_the_api_answers_401(api, spec, token, host):
    missing = api("/api/v1/bookings", bearer=None)
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    check(spec, missing, "/api/v1/bookings")
    assert api("/api/v1/bookings", bearer="so_pat_made-up").status_code == 401
    assert api("/api/v1/bookings").status_code == 200
    token_revoke(token=ApiToken.objects.get(owner=host))
    revoked = api("/api/v1/bookings")
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["message"]


def test_a_session_is_not_a_token(host_client):
    assert host_client.get("/api/v1/bookings").status_code == 401


def test_tokens_are_stored_hashed_and_last_use_is_recorded(api, token, host):
    row = ApiToken.objects.get(owner=host)
    assert token not in (row.token_hash, row.prefix)
    assert token.startswith(row.prefix)
    assert row.last_used_at is None
    api("/api/v1/booking-pages")
    row.refresh_from_db()
    assert row.last_used_at > timezone.now() - timedelta(minutes=1)


def test_each_token_has_its_own_rate_limit(api, spec, settings, host):
    settings.API_RATE_LIMIT = 3
    _row, second = token_create(owner=host, name="Second")
    for _ in range(3):
        assert api("/api/v1/booking-pages").status_code == 200
    limited = api("/api/v1/booking-pages")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    check(spec, limited, "/api/v1/booking-pages")
    assert api("/api/v1/booking-pages", bearer=second).status_code == 200


def test_only_get_is_allowed(client, token):
    response = client.post("/api/v1/bookings", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405
    assert response.json()["message"]


@pytest.mark.django_db(transaction=True)
def test_a_method_not_taken_and_a_database_down_are_documented_as_answered(
    client, token, spec, page
):
    """Every path answers 405 (with Allow) to a method it does not take, and 503 (with
    Retry-After) while the database is down: the document lists both, and what is said
    matches it."""
    from tests.booking.test_error_answers import database_gone

    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    concrete = {
        "/api/v1/bookings": "/api/v1/bookings",
        "/api/v1/bookings/{id}": "/api/v1/bookings/00000000-0000-0000-0000-000000000000",
        "/api/v1/booking-pages": "/api/v1/booking-pages",
        "/api/booking-pages/{slug}/slots": f"/api/booking-pages/{page.slug}/slots",
        "/api/booking-pages/{slug}/bookings": f"/api/booking-pages/{page.slug}/bookings",
    }
    assert set(concrete) == set(spec["paths"])
    for path, url in concrete.items():
        [method] = spec["paths"][path]
        refused = client.put(url, **bearer)
        assert refused.status_code == 405
        assert refused["Allow"]
        check(spec, refused, path, method)
        assert "Allow" in spec["paths"][path][method]["responses"]["405"]["headers"]
    with database_gone():
        down = client.get(concrete["/api/v1/booking-pages"], **bearer)
        booked = book(client, page.slug, start=f"{workday('Europe/London')}T10:00:00+00:00")
    for response, path, method in (
        (down, "/api/v1/booking-pages", "get"),
        (booked, "/api/booking-pages/{slug}/bookings", "post"),
    ):
        assert response.status_code == 503
        assert int(response["Retry-After"]) > 0
        check(spec, response, path, method)
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            assert "Retry-After" in operation["responses"]["503"]["headers"], path


def test_the_public_booking_api_matches_the_document(client, spec, page):
    day = workday("Europe/London")
    slots = client.get(
        f"/api/booking-pages/{page.slug}/slots",
        {"start": day.isoformat(), "end": day.isoformat(), "tz": "Europe/Paris"},
    )
    check(spec, slots, "/api/booking-pages/{slug}/slots")
    made = book(client, page.slug, start=at(day, 10))
    assert made.status_code == 201
    check(spec, made, "/api/booking-pages/{slug}/bookings", "post")
    taken = book(client, page.slug, start=at(day, 10))
    assert taken.status_code == 409
    check(spec, taken, "/api/booking-pages/{slug}/bookings", "post")
    bad = book(client, page.slug, start="soon")
    check(spec, bad, "/api/booking-pages/{slug}/bookings", "post")
    missing = client.get("/api/booking-pages/nobody/slots", {"start": "x"})
    check(spec, missing, "/api/booking-pages/{slug}/slots")


def test_a_webhook_body_matches_the_documented_event(spec, page, endpoint):
    from integrations.models import WebhookDelivery

    make(page, 10)
    event = json.loads(WebhookDelivery.objects.get().body)
    OAS31Validator(
        {"$ref": "#/components/schemas/WebhookEvent", "components": spec["components"]}
    ).validate(event)
    OAS31Validator(
        {"$ref": "#/components/schemas/Booking", "components": spec["components"]}
    ).validate(event["data"])


def test_refused_tokens_are_counted_per_client(api, settings):
    settings.API_RATE_LIMIT = 2
    answers = [api("/api/v1/bookings", bearer=f"so_pat_guess{n}").status_code for n in range(3)]
    assert answers == [401, 401, 429]
