"""A process keeps a bounded number of compiled statements, however varied its data.

A compiled read's shape includes each list value's length (how many hosts a booking
concerns), and a compiled INSERT's the number of rows (a host's calendars, a booking's
reminders; any number in one INSERT on PostgreSQL). Kept without a bound, every length
and count a long-running worker ever met stayed in memory with its compiler.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.models import Booking, InviteeReminder
from integrations.models import WebhookEndpoint
from integrations.receivers import _endpoint_events
from ops import compiled_inserts, compiled_queries
from ops.compiled_inserts import insert_rows
from ops.compiled_queries import query_rows

pytestmark = pytest.mark.django_db

START = datetime(2031, 4, 1, 9, 30, tzinfo=UTC)


def test_reads_with_lists_of_every_length_keep_a_bounded_number_compiled(host):
    WebhookEndpoint.objects.create(
        owner=host, url="https://hooks.example.com/in", events=["booking.created"]
    )
    compiled_queries._compiled.cache_clear()
    for count in range(1, 301):
        ids = [host.pk, *range(-count, -1)][:count]
        assert query_rows(_endpoint_events, ids) == [(["booking.created"],)]
    kept = compiled_queries._compiled.cache_info()
    assert kept.currsize < 300
    assert kept.currsize <= compiled_queries.COMPILED_LIMIT
    # The first shape, dropped meanwhile, compiles again and still answers right.
    assert query_rows(_endpoint_events, [host.pk]) == [(["booking.created"],)]


def test_inserts_of_every_number_of_rows_keep_a_bounded_number_compiled(page, host):
    booking = Booking.objects.create(
        page=page, host=host, title="Intro", start=START, end=START + timedelta(minutes=30)
    )
    compiled_inserts._compiled.cache_clear()
    for count in range(1, 151):
        insert_rows(
            [
                InviteeReminder(
                    booking=booking, booking_version=count, offset_minutes=n, due_at=START
                )
                for n in range(count)
            ]
        )
    kept = compiled_inserts._compiled.cache_info()
    assert kept.currsize < 150
    assert kept.currsize <= compiled_inserts.COMPILED_LIMIT
    assert InviteeReminder.objects.filter(booking=booking).count() == 150 * 151 // 2
