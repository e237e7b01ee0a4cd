"""The SQL compiled once per process runs as PostgreSQL prepared statements (ops.prepared),
answering what it answered before, and never at the cost of the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg2
import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from booking.models import Booking, BookingPage
from ops import prepared
from ops.compiled_queries import query_rows, reads
from tests.support.booking import at, book, workday

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@reads(BookingPage)
def _pages_of(host_id: int):
    return BookingPage.objects.filter(host_id=host_id).order_by("pk").values_list("pk", "slug")


def _executions() -> dict[str, int]:
    """How many times this session ran each of its prepared statements, by name."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, generic_plans + custom_plans FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def _sql_sent(sent: list[str]):
    """An ``execute_wrapper`` that notes the SQL Django hands the driver (placeholders)."""

    def seen(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    return seen


def test_a_compiled_read_runs_prepared_with_the_orms_answer_and_logs_its_sql(host, page):
    expected = list(
        BookingPage.objects.filter(host_id=host.pk).order_by("pk").values_list("pk", "slug")
    )
    sent: list[str] = []
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(_sql_sent(sent)):
        for _ in range(3):
            assert query_rows(_pages_of, host.pk) == expected
        assert query_rows(_pages_of, host.pk + 1000) == []
    logged = captured.captured_queries[0]["sql"]
    # Django's log shows the statement as before (with its values), not EXECUTE.
    assert logged == sent[0].replace("%s", str(host.pk))
    assert [q["sql"] for q in captured[:3]] == [logged] * 3
    assert _executions()[prepared._statements[sent[0]].name] == 4  # prepared once, run 4 times


def test_every_statement_of_a_booking_post_but_begin_and_commit_runs_prepared(client, page):
    day = workday("Europe/London")
    assert book(client, page.slug, start=at(day, 10)).status_code == 201  # prepares them
    before = _executions()
    sent: list[str] = []
    with connection.execute_wrapper(_sql_sent(sent)):
        assert book(client, page.slug, start=at(day, 11)).status_code == 201
    after = _executions()
    ran = sum(after.values()) - sum(before.values())
    compiled = [sql for sql in sent if sql in prepared._statements]
    # Each INSERT (booking, emails row, history line, reminders: this host has no calendar
    # connected, so no push row), the lock and the reads under it at least.
    assert ran == len(compiled) >= 8
    inserted = {sql.split('"')[1] for sql in compiled if sql.startswith("INSERT")}
    assert inserted == {
        "booking_booking",
        "booking_bookingemail",
        "booking_bookingchange",
        "booking_inviteereminder",
    }
    assert Booking.objects.filter(page=page).count() == 2


def test_a_statement_postgresql_cannot_prepare_runs_as_before_inside_the_transaction(page):
    # PostgreSQL cannot tell the type of a parameter that is only compared with NULL.
    sql = 'SELECT %s IS NULL, "booking_bookingpage"."slug" FROM "booking_bookingpage"'
    prepared.register(sql)
    with transaction.atomic():
        BookingPage.objects.filter(pk=page.pk).update(title="Kept")
        with connection.cursor() as cursor:
            cursor.execute(sql, [None])
            assert cursor.fetchall() == [(True, page.slug)]
            cursor.execute(sql, [5])  # remembered: not tried again
            assert cursor.fetchall() == [(False, page.slug)]
        # The transaction carries on and commits what it wrote.
        BookingPage.objects.filter(pk=page.pk).update(slug="kept")
    assert BookingPage.objects.get(pk=page.pk).title == "Kept"
    assert prepared._statements[sql].name in connection.connection.unpreparable
    assert prepared._statements[sql].name not in _executions()


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(host, page):
    assert query_rows(_pages_of, host.pk) == [(page.pk, page.slug)]
    connection.close()
    assert query_rows(_pages_of, host.pk) == [(page.pk, page.slug)]
    sent: list[str] = []
    with connection.execute_wrapper(_sql_sent(sent)):
        assert query_rows(_pages_of, host.pk) == [(page.pk, page.slug)]
    assert _executions()[prepared._statements[sent[0]].name] == 2


def test_values_of_every_kind_reach_the_prepared_statement_as_they_reached_the_sql(client, page):
    day = workday("Europe/London")
    assert book(client, page.slug, start=at(day, 10), name="Zoë O'Brien %s $1").status_code == 201
    booking = Booking.objects.get(page=page)
    assert booking.invitee_name == "Zoë O'Brien %s $1"
    assert booking.start == at(day, 10).astimezone(UTC)
    assert booking.created_at <= datetime.now(UTC)


@reads(BookingPage)
def _page_titles(host_id: int):
    return BookingPage.objects.filter(host_id=host_id).order_by("pk").values_list("title")


@reads(BookingPage)
def _page_notices(host_id: int):
    rows = BookingPage.objects.filter(host_id=host_id).order_by("pk")
    return rows.values_list("minimum_notice_minutes")


@pytest.mark.django_db(transaction=True)
def test_a_full_session_deallocates_the_statement_run_least_recently(host, page, monkeypatch):
    connection.close()  # a session of its own
    monkeypatch.setattr(prepared, "MAX_PER_SESSION", 2)
    sent: list[str] = []
    with connection.execute_wrapper(_sql_sent(sent)):
        query_rows(_pages_of, host.pk)
        query_rows(_page_titles, host.pk)
        query_rows(_page_notices, host.pk)
    pages_of, titles, notices = (prepared._statements[sql].name for sql in sent)
    assert set(_executions()) == {titles, notices}  # the first made room for the third
    assert query_rows(_page_titles, host.pk) == [(page.title,)]  # now the most recent
    assert query_rows(_pages_of, host.pk) == [(page.pk, page.slug)]  # prepared again
    assert _executions() == {titles: 2, pages_of: 1}


def _change_title_type(type_: str) -> None:
    """What ``migrate`` in another process does to a column while this one runs."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        [name] = cursor.fetchone()
    params = {**connection.get_connection_params(), "dbname": name}
    other = psycopg2.connect(**params)
    try:
        with other, other.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "booking_bookingpage" ALTER COLUMN "title" TYPE {type_}')
    finally:
        other.close()


@reads(BookingPage)
def _titled_pages(host_id: int):
    return BookingPage.objects.filter(host_id=host_id).order_by("pk").values_list("pk", "title")


@pytest.mark.django_db(transaction=True)
def test_a_column_type_changed_by_a_migration_costs_at_most_one_failed_transaction(host, page):
    # PostgreSQL refuses to run a prepared statement whose result type changed since it
    # was prepared ("cached plan must not change result type"), as a migration widening a
    # CharField does while old processes still run; the SQL itself is still good.
    connection.close()  # a session of its own, closed again at the end
    try:
        assert query_rows(_page_titles, host.pk) == [(page.title,)]  # prepared
        _change_title_type("varchar(200)")
        # Outside a transaction it answers at once, and is prepared again.
        for _ in range(2):
            assert query_rows(_page_titles, host.pk) == [(page.title,)]
            assert query_rows(_titled_pages, host.pk) == [(page.pk, page.title)]
        _change_title_type("text")
        # Inside one, PostgreSQL fails that first run (and the transaction with it)...
        with pytest.raises(DatabaseError), transaction.atomic():
            query_rows(_page_titles, host.pk)
        # ... and the next is prepared again, as is every other statement of the session
        # (another returns the column too): not refused for the rest of the session, nor
        # one failed transaction per statement.
        with transaction.atomic():
            assert query_rows(_page_titles, host.pk) == [(page.title,)]
            assert query_rows(_titled_pages, host.pk) == [(page.pk, page.title)]
        assert query_rows(_page_titles, host.pk) == [(page.title,)]
        assert sorted(_executions().values()) == [1, 2]  # both prepared again since
    finally:
        connection.close()
        _change_title_type("varchar(120)")
