"""The booking POST's shortcuts in the web process, each checked for what it must not change."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from booking.public_forms import BookingRequestForm, SlotsQueryForm
from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db


def _field_state(form_class) -> str:
    """Everything the fields of ``form_class`` hold, nested values included, as text."""
    return repr(
        {
            name: (
                dict(vars(field)),
                dict(field.error_messages),
                list(field.validators),
                dict(vars(field.widget)),
            )
            for name, field in form_class.base_fields.items()
        }
    )


@pytest.mark.parametrize("form_class", [BookingRequestForm, SlotsQueryForm])
def test_validating_forms_share_their_fields_and_never_change_them(form_class):
    before = _field_state(form_class)
    bodies = [
        {},
        {"start": "no", "name": "x\ny", "email": "@", "timezone": "Mars/Base", "locale": "xx"},
        {"start": "2030-01-07", "end": "2029-01-01", "tz": "Nowhere", "reschedule": "r" * 300},
        {"start": "2030-01-07T10:00:00+00:00", "name": "Dana", "email": "d@example.com"},
    ]
    for body in bodies:
        form = form_class(body)
        form.is_valid()
        # One object per field for every instance: no deep copy per request.
        assert all(form.fields[name] is form_class.base_fields[name] for name in form.fields)
        form.fields.pop(next(iter(form.fields)))  # an instance's dict is still its own
    assert _field_state(form_class) == before
    assert set(form_class().fields) == set(form_class.base_fields)


def test_field_messages_still_come_in_the_requests_language(client, page):
    response = book(
        client,
        page.slug,
        start=at(workday("Europe/London"), 10),
        email="not-an-email",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["email"] == ["Bitte gültige E-Mail-Adresse eingeben."]
    response = book(client, page.slug, start=at(workday("Europe/London"), 10), email="bad")
    assert response.json()["errors"]["email"] == ["Enter a valid email address."]


def test_the_answers_links_are_what_django_builds_for_the_request(client, page, settings):
    from django.test import RequestFactory

    from booking.models import Booking
    from booking.tokens import booking_paths

    settings.ALLOWED_HOSTS = ["book.example.com"]
    start = at(workday("Europe/London"), 10)
    response = client.post(
        reverse("booking:api-bookings", args=[page.slug]),
        data=json.dumps(
            {"start": start.isoformat(), "name": "Di", "email": "d@example.com", "timezone": "UTC"}
        ),
        content_type="application/json",
        secure=True,
        HTTP_HOST="book.example.com",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    paths = booking_paths(Booking.objects.get(uuid=body["id"]))
    request = RequestFactory().post("/", secure=True, HTTP_HOST="book.example.com")
    assert body["cancel_url"] == request.build_absolute_uri(paths["cancel"])
    assert body["reschedule_url"] == request.build_absolute_uri(paths["reschedule"])
    assert response["Location"] == request.build_absolute_uri(paths["manage"])
    assert response["Location"].startswith("https://book.example.com/bookings/")


def test_messages_storage_is_made_only_for_requests_that_use_it(
    client, host_client, page, monkeypatch
):
    from django.contrib.messages import middleware as django_middleware
    from django.contrib.messages import storage

    from ops import middleware

    made = []
    for module in (middleware, django_middleware):  # counted whichever middleware runs
        monkeypatch.setattr(
            module,
            "default_storage",
            lambda request: made.append(1) or storage.default_storage(request),
        )
    assert book(client, page.slug, start=at(workday("Europe/London"), 10)).status_code == 201
    assert client.get("/healthz").status_code == 200
    assert made == []
    # A message set before a redirect is still shown on the next page, once.
    toggled = host_client.post(reverse("pages:toggle", args=[page.pk]), follow=True)
    assert "is disabled; its link now says it is not taking bookings." in toggled.text
    assert made
    again = host_client.get(reverse("pages:list"))
    assert "is disabled; its link now says" not in again.text
