"""``bench.worker_cost --sql`` tells which of the worker's statements ran as prepared
statements (``ops.prepared``) and what each cost the PostgreSQL backend."""

from __future__ import annotations

import pytest
from django.db import connection

from bench.booking_post import BackendClock
from bench.worker_cost import _prepared_flag
from booking.models import BookingPage
from ops.compiled_queries import query_rows, reads

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@reads(BookingPage)
def _page_slugs(host_id: int):
    return BookingPage.objects.filter(host_id=host_id).order_by("pk").values_list("slug")


def test_each_statement_is_marked_prepared_or_not_with_its_backend_cpu(host, page):
    ran: list[tuple[bool, int]] = []
    with connection.execute_wrapper(_prepared_flag(ran, BackendClock(connection))):
        query_rows(_page_slugs, host.pk)  # compiled once: prepared
        query_rows(_page_slugs, host.pk)
        list(BookingPage.objects.filter(host_id=host.pk).values_list("slug"))  # the ORM's
    assert [was_prepared for was_prepared, _ in ran] == [True, True, False]
    # The backend's CPU while each ran, in ns (schedstat): something, and not the
    # backend's whole life.
    assert all(0 < ns < 1_000_000_000 for _, ns in ran)
