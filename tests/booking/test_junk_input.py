"""Whatever an invitee (or a bot) sends, the API answers a 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.models import Booking, Question
from tests.support.booking import book, bookable_body

pytestmark = pytest.mark.django_db

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    # Any code point, lone UTF-16 surrogates included (JSON can spell them as "\\ud800").
    st.text(st.characters(exclude_categories=()), max_size=20),
    st.sampled_from(["2026-01-05T10:00:00+00:00", "Europe/London", "a@b.co", "", "Z"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
bodies = st.dictionaries(
    st.sampled_from(["start", "name", "email", "timezone", "answers", "extra"]), values, max_size=6
)


@override_settings(BOOKING_RATE_LIMIT=0)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_junk_booking_bodies_answer_400(client, page, body):
    response = client.post(
        reverse("booking:api-bookings", args=[page.slug]),
        data=json.dumps(body),
        content_type="application/json",
        REMOTE_ADDR="192.0.2.1",
    )
    assert response.status_code == 400, (body, response.content)
    assert response.json()["errors"]
    assert not Booking.objects.exists()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.text(max_size=30), end=st.text(max_size=30), tz=st.text(max_size=40))
def test_junk_slot_queries_answer_200_or_400(client, page, start, end, tz):
    url = reverse("booking:api-slots", args=[page.slug])
    response = client.get(url, {"start": start, "end": end, "tz": tz})
    assert response.status_code in (200, 400)


@override_settings(BOOKING_RATE_LIMIT=0)
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(["start", "name", "email", "timezone", "answer"]),
    junk=values,
    keep=st.booleans(),
)
def test_a_valid_booking_with_one_junk_field_never_fails(client, page, field, junk, keep):
    """One field of an otherwise bookable request replaced by junk (or junk appended)."""
    question, _ = Question.objects.get_or_create(page=page, label="Company", kind="text")
    body = bookable_body(answer_to=question)
    target = body["answers"] if field == "answer" else body
    key = str(question.pk) if field == "answer" else field
    target[key] = target[key] + junk if keep and isinstance(junk, str) else junk
    before = Booking.objects.count()
    response = book(client, page.slug, REMOTE_ADDR="192.0.2.2", **body)
    assert response.status_code in (201, 400, 409), (body, response.content)
    if response.status_code != 201:
        assert response.json()["message"]
        assert response.json()["errors"]
        assert Booking.objects.count() == before
