"""The public HTTP contract (shared DESIGN.md) under junk: raw bodies that are not JSON or
not UTF-8, huge or deeply nested bodies, junk query strings and slugs, junk tokens and
forms on the invitee's links, junk bearer tokens and queries on /api/v1, junk on the
Graph webhooks, and methods the contract does not name.

Whatever arrives: never a 5xx; a JSON endpoint answers a JSON error body; nothing is
stored on a refusal. (tests/booking/test_junk_input.py covers JSON booking bodies and
slot dates field by field.)"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.models import Booking, BookingStatus
from integrations.tokens import token_create
from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Text as it may arrive in a URL: any code point, percent-escapes of any byte (so invalid
# UTF-8 too), and the characters that split a query.
url_bytes = st.binary(max_size=12).map(lambda raw: "".join(f"%{byte:02x}" for byte in raw))
url_text = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=("Cs",)), max_size=10),
        url_bytes,
        st.sampled_from(["&", "=", "%", "%%", "+", ";", "#", "?", "/", "..", "\\x00", "%00"]),
    ),
    max_size=6,
).map("".join)
query_keys = st.sampled_from(
    ["start", "end", "tz", "reschedule", "cursor", "limit", "status", "order", "from", "to"]
)
query_strings = st.lists(st.tuples(st.one_of(query_keys, url_text), url_text), max_size=5).map(
    lambda pairs: "&".join(f"{key}={value}" for key, value in pairs)
)
raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"x"',
            b"1e999999",
            b"[" * 5000 + b"]" * 5000,
            b'{"start": "\\ud800"}',
            b'{"name": "\xff\xfe"}',
            b"\xef\xbb\xbf{}",
            b'{"a":' * 100 + b"1" + b"}" * 100,
            json.dumps({"name": "x" * 40_000}).encode(),
        ]
    ),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/json; charset=nonsense",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ]
)
odd_methods = st.sampled_from(["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"])


def in_path(text: str) -> str:
    """``text`` as one path segment: percent-escapes kept, so bad UTF-8 reaches the view."""
    return quote(text, safe="%") or "x"


def _is_json(response) -> bool:
    return response["Content-Type"].startswith("application/json")


def assert_json_refusal(response) -> None:
    assert 400 <= response.status_code < 500, response.content[:300]
    assert _is_json(response), response["Content-Type"]
    body = response.json()
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["errors"], dict)


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, response.content[:300]


@pytest.fixture
def booked(client, page) -> dict:
    answer = book(client, page.slug, start=at(workday("Europe/London", days_ahead=3), 10))
    assert answer.status_code == 201
    return answer.json()


def _snapshot() -> list[tuple]:
    return list(
        Booking.objects.order_by("pk").values_list("pk", "start", "status", "cancel_reason")
    )


@override_settings(BOOKING_RATE_LIMIT=0)
@FUZZ
@given(body=raw_bodies, content_type=content_types)
def test_raw_booking_bodies_are_refused_as_json(client, page, body, content_type):
    response = client.generic(
        "POST",
        reverse("booking:api-bookings", args=[page.slug]),
        data=body,
        content_type=content_type,
        REMOTE_ADDR="192.0.2.10",
    )
    assert_json_refusal(response)
    assert not Booking.objects.exists()


@FUZZ
@given(slug=url_text, query=query_strings, method=st.sampled_from(["GET", "POST"]))
def test_unknown_slugs_answer_json_404s_on_the_api(client, page, slug, query, method):
    for name in ("booking:api-slots", "booking:api-bookings"):
        path = reverse(name, args=["SLUG"]).replace("SLUG", in_path(slug))
        response = client.generic(method, f"{path}?{query}", content_type="application/json")
        assert_no_server_error(response)
        if response.status_code != 200:
            assert_json_refusal(response)
    assert not Booking.objects.exists()


@FUZZ
@given(slug=url_text, query=query_strings)
def test_the_booking_page_answers_any_slug_and_query(client, page, slug, query):
    for path in (f"/book/{in_path(slug)}/", f"/book/{page.slug}/", "/time-zones.json"):
        assert_no_server_error(client.get(f"{path}?{query}"))
        posted = client.generic(
            "POST", f"{path}?{query}", data=query, content_type="application/x-www-form-urlencoded"
        )
        assert_no_server_error(posted)
    assert not Booking.objects.exists()


@FUZZ
@given(query=query_strings)
def test_any_slot_query_answers_slots_or_a_json_error(client, page, query):
    response = client.get(reverse("booking:api-slots", args=[page.slug]) + "?" + query)
    assert_no_server_error(response)
    assert _is_json(response)
    if response.status_code != 200:
        assert_json_refusal(response)


@FUZZ
@given(method=odd_methods)
def test_methods_the_contract_does_not_name_are_json_405s(page, token, method):
    # As an outside client sends them: no CSRF cookie (the test client skips the check).
    client = Client(enforce_csrf_checks=True)
    for path in (
        reverse("booking:api-slots", args=[page.slug]),
        reverse("booking:api-bookings", args=[page.slug]),
        "/api/v1/bookings",
        "/api/v1/booking-pages",
        "/api/v1/bookings/1",
    ):
        response = client.generic(method, path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 405, (method, path, response.status_code)
        assert_json_refusal(response)
        assert response["Allow"]
    assert not Booking.objects.exists()


@FUZZ
@given(
    token_text=url_text,
    method=st.sampled_from(["GET", "POST"]),
    form=st.dictionaries(
        st.sampled_from(["start", "reason", "csrfmiddlewaretoken", "x"]), st.text(max_size=40)
    ),
)
def test_junk_invitee_links_are_refused_and_change_nothing(
    client, booked, token_text, method, form
):
    before = _snapshot()
    token = in_path(token_text)
    for suffix in ("", "invite.ics", "join.json", "cancel/", "reschedule/"):
        response = client.generic(
            method,
            f"/bookings/{token}/{suffix}",
            data="&".join(f"{quote(k)}={quote(v)}" for k, v in form.items()),
            content_type="application/x-www-form-urlencoded",
        )
        assert_no_server_error(response)
        assert response.status_code in (400, 404, 405), (suffix, response.status_code)
    assert _snapshot() == before


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from(["start", "reason"]),
        st.one_of(st.text(max_size=60), st.text(max_size=600), url_text),
        max_size=2,
    ),
    raw=st.booleans(),
    body=raw_bodies,
)
def test_junk_on_a_real_reschedule_link_changes_nothing(client, booked, form, raw, body):
    before = _snapshot()
    url = booked["reschedule_url"].split("testserver", 1)[-1]
    if raw:
        response = client.generic("POST", url, data=body, content_type="application/json")
    else:
        response = client.post(url, form)
    assert_no_server_error(response)
    if response.status_code >= 400:
        assert _snapshot() == before


@FUZZ
@given(
    reason=st.one_of(st.text(max_size=40), st.text(min_size=501, max_size=520)),
    body=raw_bodies,
)
def test_junk_on_a_real_cancel_link_never_fails(client, booked, reason, body):
    url = booked["cancel_url"].split("testserver", 1)[-1]
    before = _snapshot()
    raw = client.generic("POST", url, data=body, content_type="application/octet-stream")
    assert_no_server_error(raw)
    if raw.status_code >= 400:
        assert _snapshot() == before
    before = _snapshot()
    answer = client.post(url, {"reason": reason})
    assert_no_server_error(answer)
    if answer.status_code >= 400:
        assert _snapshot() == before
    else:
        assert Booking.objects.get().status == BookingStatus.CANCELLED


def test_huge_query_strings_and_api_v1_writes_are_refused(client, page, token):
    huge = "start=" + "9" * 200_000 + "&tz=" + "A/" * 50_000
    slots = client.get(reverse("booking:api-slots", args=[page.slug]) + "?" + huge)
    assert_json_refusal(slots)
    listing = client.get("/api/v1/bookings?" + huge, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_json_refusal(listing)
    assert_no_server_error(client.get(f"/book/{page.slug}/?" + huge))
    for path in ("/api/v1/bookings", "/api/v1/booking-pages"):
        write = client.post(
            path, data="{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert write.status_code == 405
        assert_json_refusal(write)
    assert not Booking.objects.exists()


@pytest.fixture
def token(host) -> str:
    _row, value = token_create(owner=host, name="fuzz")
    return value


@FUZZ
@given(
    path=st.sampled_from(["/api/v1/bookings", "/api/v1/booking-pages", "/api/v1/bookings/"]),
    tail=url_text,
    query=query_strings,
)
def test_api_v1_answers_any_query_with_json(client, booked, token, path, tail, query):
    target = path + (in_path(tail) if path.endswith("/") else "")
    response = client.get(f"{target}?{query}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_no_server_error(response)
    assert _is_json(response)
    if response.status_code != 200:
        assert_json_refusal(response)


@FUZZ
@given(header=st.one_of(url_text, st.text(max_size=60).map(lambda t: "Bearer " + t)))
def test_api_v1_refuses_junk_credentials_with_json_401(client, header):
    header = "".join(ch for ch in header if ch not in "\r\n")
    response = client.get("/api/v1/bookings", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401, response.status_code
    assert_json_refusal(response)


@FUZZ
@given(
    hook=st.sampled_from(["notifications", "lifecycle"]),
    query=query_strings,
    body=raw_bodies,
    content_type=content_types,
)
def test_graph_webhooks_never_fail_on_junk(client, hook, query, body, content_type):
    response = client.generic(
        "POST", f"/webhooks/office365/{hook}?{query}", data=body, content_type=content_type
    )
    assert_no_server_error(response)


def test_a_graph_notification_nested_thousands_deep_is_a_400(client):
    deep = b"[" * 5000 + b"]" * 5000
    for hook in ("notifications", "lifecycle"):
        response = client.post(f"/webhooks/office365/{hook}", deep, content_type="application/json")
        assert response.status_code == 400


header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(["é", "\t", "ß"]),
    max_size=80,
)


@override_settings(BOOKING_RATE_LIMIT=0, TRUSTED_PROXY_COUNT=1)
@FUZZ
@given(
    language=header_text,
    forwarded=header_text,
    locale=st.one_of(
        st.none(), st.text(max_size=20), st.integers(), st.lists(st.text(), max_size=2)
    ),
)
def test_junk_headers_and_locales_on_a_booking_never_fail(
    client, page, language, forwarded, locale
):
    body = {"start": at(workday("Europe/London", days_ahead=4), 11).isoformat()}
    if locale is not None:
        body["locale"] = locale
    response = book(
        client,
        page.slug,
        HTTP_ACCEPT_LANGUAGE=language,
        HTTP_X_FORWARDED_FOR=forwarded,
        **body,
    )
    assert response.status_code in (201, 400, 409), response.content[:300]
    if response.status_code != 201:
        assert_json_refusal(response)
    Booking.objects.all().delete()
    slots = client.get(
        reverse("booking:api-slots", args=[page.slug]),
        {"start": "2026-12-07", "end": "2026-12-08", "tz": "Europe/London"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert slots.status_code in (200, 400)
    assert_no_server_error(client.get(f"/book/{page.slug}/", HTTP_ACCEPT_LANGUAGE=language))


@FUZZ
@given(
    moment=st.datetimes(timezones=st.timezones()),
    cut=st.integers(min_value=0, max_value=80),
    junk=url_text,
)
def test_any_moment_on_a_real_reschedule_link_and_its_slots(client, booked, moment, cut, junk):
    before = _snapshot()
    url = booked["reschedule_url"].split("testserver", 1)[-1]
    token = url.split("/")[2]
    moved = client.post(url, {"start": moment.isoformat()})
    assert_no_server_error(moved)
    if moved.status_code >= 400:
        assert _snapshot() == before
    slots = client.get(
        reverse("booking:api-slots", args=[booked_page_slug()]),
        {"start": "2026-12-07", "end": "2026-12-09", "tz": "UTC", "reschedule": token[:cut] + junk},
    )
    assert_no_server_error(slots)
    assert _is_json(slots)


def booked_page_slug() -> str:
    return Booking.objects.select_related("page").get().page.slug
