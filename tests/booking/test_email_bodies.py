"""A booking email's text is rendered by Django once per language and shape, then filled in
for each email (``booking.email_bodies``): the same text as Django renders every time."""

from __future__ import annotations

import pytest
from django.core import mail
from django.template.base import Template
from django.template.loader import render_to_string
from django.utils import translation
from hypothesis import example, given, settings
from hypothesis import strategies as st

from booking import email_bodies
from booking.email_bodies import body_render
from booking.emails import NOTICE, send_booking_email
from booking.services.bookings import Invitee, booking_create
from tests.support.booking import at, workday

# Anything a name, title, answer or reason may hold, markers and template syntax included.
TEXT = st.lists(
    st.sampled_from(
        ["a", " ", "\n", "%", "%(other)s", "{{ other }}", "ü", "—", "\x00", "\x00other\x00"]
    ),
    max_size=8,
).map("".join)
TEXT_NAMES = (
    "other",
    "previous",
    "title",
    "when",
    "zone_text",
    "previous_day",
    "previous_time",
    "where",
    "join_url",
    "invitee_name",
    "invitee_email",
    "answers",
    "cancel_reason",
    "reschedule_link",
    "cancel_link",
)


@settings(max_examples=400, deadline=None)
@given(
    language=st.sampled_from(["en", "de"]),
    kind=st.sampled_from(["confirmed", "rescheduled", "cancelled"]),
    who=st.sampled_from(["invitee", "host"]),
    by_host=st.booleans(),
    texts=st.fixed_dictionaries({name: st.one_of(st.just(""), TEXT) for name in TEXT_NAMES}),
)
@example(
    language="de",
    kind="rescheduled",
    who="invitee",
    by_host=True,
    texts={name: f"\x00{name}\x00" for name in TEXT_NAMES},
)
def test_the_filled_in_text_is_what_django_renders(language, kind, who, by_host, texts):
    flags = {"kind": kind, "who": who, "by_host": by_host}
    with translation.override(language):
        assert body_render(NOTICE, flags=flags, texts=texts) == render_to_string(
            NOTICE, {**flags, **texts}
        )


@pytest.fixture
def booking(page):
    return booking_create(
        page=page,
        start=at(workday("Europe/London"), 10),
        invitee=Invitee("Dana Invitee", "dana@example.com", "Asia/Kolkata"),
    )


@pytest.mark.django_db
def test_a_shape_is_rendered_by_django_once(booking, monkeypatch):
    """The confirmations of one booking to each side, sent twice: Django renders the text
    once for the invitee's shape and once for the host's, then never again."""
    email_bodies._pieces.cache_clear()
    renders = []
    real = Template.render
    monkeypatch.setattr(Template, "render", lambda *a, **k: renders.append(1) or real(*a, **k))
    for _ in range(2):
        for who in ("invitee", "host"):
            assert send_booking_email(booking_pk=booking.pk, kind="confirmed", who=who)
    assert len(mail.outbox) == 4
    assert len(renders) == 2
    assert mail.outbox[0].body == mail.outbox[2].body
    assert "Your meeting with" in mail.outbox[0].body
    assert "booked a meeting with you" in mail.outbox[1].body
