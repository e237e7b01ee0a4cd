"""Booking POSTs are limited per client IP; the answer says when to try again."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.support.booking import at, book, workday

pytestmark = pytest.mark.django_db


@override_settings(BOOKING_RATE_LIMIT=3)
def test_the_fourth_post_in_a_minute_answers_429_with_retry_after(client, page):
    start = at(workday("Europe/London"), 10)
    statuses = [book(client, page.slug, start=start, name="").status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    limited = book(client, page.slug, start=start)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert "Too many" in limited.json()["message"]
    # Another client is not affected.
    other = book(client, page.slug, start=start, REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 201


@override_settings(BOOKING_RATE_LIMIT=1, TRUSTED_PROXY_COUNT=0)
def test_x_forwarded_for_is_ignored_without_trusted_proxies(client, page):
    start = at(workday("Europe/London"), 10)
    book(client, page.slug, start=start, name="", HTTP_X_FORWARDED_FOR="198.51.100.1")
    again = book(client, page.slug, start=start, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert again.status_code == 429


@override_settings(BOOKING_RATE_LIMIT=1, TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_the_address_it_saw_counts(client, page):
    start = at(workday("Europe/London"), 10)
    first = book(
        client, page.slug, start=start, name="", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.1"
    )
    assert first.status_code == 400
    spoofed = book(client, page.slug, start=start, HTTP_X_FORWARDED_FOR="7.7.7.7, 198.51.100.1")
    assert spoofed.status_code == 429
    other = book(client, page.slug, start=start, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other.status_code == 201


@override_settings(BOOKING_RATE_LIMIT=0)
def test_zero_turns_the_limit_off(client, page):
    start = at(workday("Europe/London"), 10)
    assert {book(client, page.slug, start=start, name="").status_code for _ in range(15)} == {400}


@override_settings(BOOKING_RATE_LIMIT=3)  # the booking, then two tries at moving it
def test_the_reschedule_page_says_when_to_try_again(client, page):
    answer = book(client, page.slug, start=at(workday("Europe/London", days_ahead=3), 10))
    assert answer.status_code == 201
    reschedule = answer.json()["reschedule_url"].removeprefix("http://testserver")
    statuses = [client.post(reschedule, {"start": "x"}).status_code for _ in range(2)]
    assert statuses == [400, 400]
    limited = client.post(reschedule, {"start": "x"})
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert "Too many attempts" in limited.content.decode()
