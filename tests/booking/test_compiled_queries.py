"""A read compiled once answers exactly what the ORM answers, for any values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from booking.models import Booking, BookingPage
from booking.services.bookings import Invitee, booking_create
from ops.compiled_queries import query_objects, query_rows, reads
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db

BUILT: list[tuple] = []


@reads(Booking)
def _bookings(host_id: int, page_ids: list[int], after: datetime):
    BUILT.append((host_id, tuple(page_ids), after))
    rows = Booking.objects.filter(host_id=host_id, page_id__in=page_ids, start__gte=after)
    return rows.order_by("start").values_list("pk", "start", "end")


def _orm(host_id: int, page_ids: list[int], after: datetime) -> list[tuple]:
    rows = Booking.objects.filter(host_id=host_id, page_id__in=page_ids, start__gte=after)
    return list(rows.order_by("start").values_list("pk", "start", "end"))


def test_the_rows_are_the_orms_for_every_value_and_the_sql_is_built_once_per_shape(page, host):
    invitee = Invitee(name="Dana", email="dana@example.com", time_zone="UTC")
    day = workday("Europe/London")
    for hour in (10, 12, 14):
        booking_create(page=page, start=at(day, hour), invitee=invitee)
    BUILT.clear()
    early = datetime.now(UTC)
    for after in (early, at(day, 11), at(day, 14), at(day, 15)):
        for page_ids in ([page.pk], [page.pk, page.pk + 1], [-1]):
            expected = _orm(host.pk, page_ids, after)
            assert query_rows(_bookings, host.pk, page_ids, after) == expected
    assert query_rows(_bookings, host.pk + 1, [page.pk], early) == []
    found = query_rows(_bookings, host.pk, [page.pk], early)
    assert len(found) == 3
    assert found[0][1].tzinfo is not None  # converted as the ORM converts
    assert found[0][2] - found[0][1] == timedelta(minutes=30)
    # Built twice (two sets of marks) per list length: one, then the other (the third has
    # length 1 too).
    assert len(BUILT) == 4


def test_a_value_that_does_not_reach_the_parameters_as_it_is_is_refused():
    with pytest.raises(TypeError):
        query_rows(_pattern, True)  # booleans are compiled in (``fixed``)
    with pytest.raises(RuntimeError, match="did not land"):
        query_rows(_pattern, "x")  # becomes "%x%"


@reads(BookingPage)
def _pattern(text: str):
    return BookingPage.objects.filter(title__icontains=text).values_list("pk")


@reads(Booking)
def _bookings_with_host(host_id: int, after: datetime):
    rows = Booking.objects.select_related("host", "page").filter(host_id=host_id, start__gte=after)
    return rows.order_by("start")


def test_instances_are_the_orms_with_their_related_objects(page, host, django_assert_num_queries):
    invitee = Invitee(name="Dana", email="dana@example.com", time_zone="UTC")
    day = workday("Europe/London")
    for hour in (10, 12):
        booking_create(page=page, start=at(day, hour), invitee=invitee)
    after = datetime.now(UTC)
    expected = list(_bookings_with_host(host.pk, after))
    with django_assert_num_queries(1):  # the host and the page come with each booking
        found = query_objects(_bookings_with_host, host.pk, after)
        assert [(b.host.email, b.page.title) for b in found] == [(host.email, page.title)] * 2
    assert [b.pk for b in found] == [b.pk for b in expected]
    for mine, orms in zip(found, expected, strict=True):
        assert mine.__dict__.keys() == orms.__dict__.keys()
        assert {k: v for k, v in vars(mine).items() if k != "_state"} == {
            k: v for k, v in vars(orms).items() if k != "_state"
        }
        related = mine._state.fields_cache
        assert related.keys() == orms._state.fields_cache.keys() == {"host", "page"}
        assert (mine._state.adding, mine._state.db) == (orms._state.adding, orms._state.db)
    assert query_objects(_bookings_with_host, host.pk + 1, after) == []
    with pytest.raises(TypeError, match="values_list"):
        query_objects(_bookings, host.pk, [page.pk], after)


@reads(Booking)
def _by_uuid(key: uuid.UUID):
    return Booking.objects.filter(uuid=key).values_list("pk")


def test_a_uuid_value_finds_its_row_and_no_other(page):
    invitee = Invitee(name="Dana", email="dana@example.com", time_zone="UTC")
    day = workday("Europe/London")
    bookings = [booking_create(page=page, start=at(day, h), invitee=invitee) for h in (10, 12)]
    for booking in bookings:
        assert query_rows(_by_uuid, booking.uuid) == [(booking.pk,)]
    assert query_rows(_by_uuid, uuid.uuid4()) == []


@reads(Booking)
def _by_emails(host_id: int, emails: list[str]):
    rows = Booking.objects.filter(host_id=host_id, invitee_email__in=emails)
    return rows.order_by("start").values_list("pk", "invitee_email")


def test_a_list_of_strings_finds_the_orms_rows_for_each_length(page, host):
    day = workday("Europe/London")
    for hour, email in ((10, "dana@example.com"), (12, "eli@example.com"), (14, "fay@example.com")):
        invitee = Invitee(name="Someone", email=email, time_zone="UTC")
        booking_create(page=page, start=at(day, hour), invitee=invitee)
    for emails in (
        ["dana@example.com"],
        ["eli@example.com", "nobody@example.com"],
        ["fay@example.com", "dana@example.com"],
        ["dana@example.com", "eli@example.com", "fay@example.com"],
    ):
        expected = list(_by_emails(host.pk, emails))
        assert query_rows(_by_emails, host.pk, emails) == expected
        # Booked in the order of the names: each address that was booked, once.
        assert [email for _, email in expected] == sorted(set(emails) - {"nobody@example.com"})
    assert query_rows(_by_emails, host.pk, ["nobody@example.com"]) == []
