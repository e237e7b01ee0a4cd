"""Moving a booking: the times offered treat the booking being moved as free.

Dana booked 10:00 London. Following her reschedule link, she must be offered times
that overlap her own meeting, its buffers and its place under the daily cap, but
never anyone else's time; and every time she is offered must be accepted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.urls import reverse

from booking.models import Booking
from booking.selectors import page_slots
from booking.services.bookings import BookingError, booking_reschedule
from booking.services.pages import page_create
from booking.tokens import booking_token
from calendars.models import BusyInterval
from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db


def offered(client, page, day, **extra) -> tuple[int, list[datetime], dict]:
    """Status, offered starts (London) and body of the page's slots query for ``day``."""
    query = {"start": day.isoformat(), "end": day.isoformat(), "tz": "Europe/London", **extra}
    response = client.get(reverse("booking:api-slots", args=[page.slug]) + "?" + urlencode(query))
    body = response.json()
    starts = [datetime.fromisoformat(s["start"]) for s in body.get("slots", [])]
    return response.status_code, starts, body


def hour_page(host, slug: str = "hour", **fields):
    """Alice's 60-minute page, a start every 30 minutes, Mon-Fri 9:00-17:00 London."""
    fields = {"duration_minutes": 60, "increment_minutes": 30, **fields}
    return page_create(host=host, fields={"title": "Hour", "slug": slug, **fields})


def booked_at(client, page, start: datetime, email: str = "dana@example.com") -> Booking:
    response = book(client, page.slug, start=start, email=email)
    assert response.status_code == 201, response.json()
    return Booking.objects.get(uuid=response.json()["id"])


def test_a_sixty_minute_meeting_can_move_by_half_an_hour(client, host):
    page = hour_page(host)
    day = workday("Europe/London")
    dana = booked_at(client, page, at(day, 10))

    _, for_others, _ = offered(client, page, day)
    status, for_dana, body = offered(client, page, day, reschedule=booking_token(dana))

    assert at(day, 10, 30) not in for_others
    assert at(day, 9, 30) not in for_others
    assert status == 200
    assert set(body) == {"timezone", "slots"}  # the answer's shape does not change
    assert {at(day, 9, 30), at(day, 10), at(day, 10, 30)} <= set(for_dana)
    response = client.post(
        reverse("booking:reschedule", args=[booking_token(dana)]),
        {"start": at(day, 10, 30).isoformat()},
    )
    assert response.status_code == 302
    dana.refresh_from_db()
    assert (dana.start, dana.end) == (at(day, 10, 30), at(day, 11, 30))


def test_the_moved_bookings_buffers_do_not_block_it(client, host):
    page = hour_page(host, duration_minutes=30, buffer_before_minutes=15, buffer_after_minutes=15)
    day = workday("Europe/London")
    dana = booked_at(client, page, at(day, 10))

    _, for_others, _ = offered(client, page, day)
    _, for_dana, _ = offered(client, page, day, reschedule=booking_token(dana))

    assert at(day, 10, 30) not in for_others  # inside Dana's buffer after
    assert at(day, 9, 30) not in for_others  # its own buffer after touches Dana's buffer
    assert {at(day, 9, 30), at(day, 10, 30)} <= set(for_dana)


def test_the_moved_booking_does_not_count_towards_the_daily_cap(client, host):
    page = hour_page(host, slug="once-a-day", max_per_day=1)
    day = workday("Europe/London")
    dana = booked_at(client, page, at(day, 10))

    _, for_others, _ = offered(client, page, day)
    _, for_dana, _ = offered(client, page, day, reschedule=booking_token(dana))

    assert for_others == []
    assert at(day, 14) in for_dana
    assert booking_reschedule(booking=dana, start=at(day, 14)).start == at(day, 14)


def test_other_bookings_and_busy_time_still_block_the_time(client, host, calendars):
    main, _ = calendars
    page = hour_page(host, buffer_after_minutes=15)
    day = workday("Europe/London")
    dana = booked_at(client, page, at(day, 10))
    booked_at(client, page, at(day, 12), email="eve@example.com")
    BusyInterval.objects.create(
        calendar=main, remote_event_id="dentist", start=at(day, 15), end=at(day, 16)
    )

    _, for_dana, _ = offered(client, page, day, reschedule=booking_token(dana))

    assert at(day, 10, 30) in for_dana
    for blocked in (at(day, 11), at(day, 11, 30), at(day, 12), at(day, 12, 30), at(day, 13)):
        assert blocked not in for_dana  # Eve's 12:00-13:00 and its 15-minute buffer
    assert at(day, 14, 30) not in for_dana
    assert at(day, 15) not in for_dana
    assert at(day, 13, 30) in for_dana


def test_every_time_offered_is_accepted_and_no_other_time_is(client, host, calendars):
    """The service's re-check agrees with the list, slot by slot, in both directions."""
    main, _ = calendars
    page = hour_page(host, buffer_before_minutes=10, buffer_after_minutes=20, max_per_day=2)
    day = workday("Europe/London")
    dana = booked_at(client, page, at(day, 10))
    booked_at(client, page, at(day, 13), email="eve@example.com")
    BusyInterval.objects.create(
        calendar=main, remote_event_id="gym", start=at(day, 15, 30), end=at(day, 16)
    )
    _, for_dana, _ = offered(client, page, day, reschedule=booking_token(dana))
    start, end = at(day, 0), at(day, 0) + timedelta(days=1)
    now = datetime.now().astimezone()
    by_rules = [
        s.start for s in page_slots(page=page, start=start, end=end, now=now, rules_only=True)
    ]
    assert set(for_dana) < set(by_rules)

    accepted = []
    for candidate in by_rules:
        with transaction.atomic():
            try:
                booking_reschedule(booking=dana, start=candidate)
            except BookingError:
                pass
            else:
                accepted.append(candidate)
            transaction.set_rollback(True)

    assert accepted == for_dana
    assert Booking.objects.get(pk=dana.pk).start == at(day, 10)


@pytest.mark.parametrize(
    "token",
    ["garbage", "0" * 32, "a:b:c", "x" * 201, "\N{SNOWMAN}:\N{SNOWMAN}", "%00", "a\x00b"],
)
def test_a_reschedule_token_that_names_no_booking_is_a_clear_400(client, page, token):
    day = workday("Europe/London")
    booked_at(client, page, at(day, 10))
    status, _, body = offered(client, page, day, reschedule=token)
    assert status == 400
    assert list(body["errors"]) == ["reschedule"]
    assert body["message"]


def test_a_tampered_token_of_a_real_booking_is_refused(client, page):
    day = workday("Europe/London")
    dana = booked_at(client, page, at(day, 10))
    value, signature = booking_token(dana).rsplit(":", 1)
    forged = f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    status, _, body = offered(client, page, day, reschedule=forged)
    assert status == 400
    assert body["errors"]["reschedule"] == ["This reschedule link is not valid."]


def test_a_token_for_another_page_or_a_cancelled_booking_is_refused(client, host, page):
    other = hour_page(host)
    day = workday("Europe/London")
    dana = booked_at(client, page, at(day, 10))

    status, _, body = offered(client, other, day, reschedule=booking_token(dana))
    assert status == 400
    assert "another booking page" in body["errors"]["reschedule"][0]

    client.post(reverse("booking:cancel", args=[booking_token(dana)]), {"reason": ""})
    status, _, body = offered(client, page, day, reschedule=booking_token(dana))
    assert status == 400
    assert "cancelled" in body["errors"]["reschedule"][0]


def test_the_reschedule_page_hands_its_token_to_the_booking_widget(client, page):
    day = workday("Europe/London")
    dana = booked_at(client, page, at(day, 10))
    html = client.get(reverse("booking:reschedule", args=[booking_token(dana)])).content.decode()
    assert f'"rescheduleToken": "{booking_token(dana)}"' in html
    fresh = client.get(reverse("booking:page", args=[page.slug])).content.decode()
    assert '"rescheduleToken": null' in fresh
