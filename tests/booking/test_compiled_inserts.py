"""A row written by a compiled INSERT is the row the ORM writes, for every model it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import signals
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from booking.models import (
    Booking,
    BookingChange,
    BookingEmail,
    BookingStatus,
    InviteeReminder,
    ReminderState,
)
from calendars.models import PushedEvent, PushState
from ops import compiled_inserts
from ops.compiled_inserts import insert_rows

pytestmark = pytest.mark.django_db

CLOCK = datetime(2031, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
START = datetime(2031, 4, 1, 10, 30, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture(autouse=True)
def _stopped_clock(monkeypatch):
    """auto_now and auto_now_add read the same moment for both ways of writing."""
    monkeypatch.setattr(timezone, "now", lambda: CLOCK)


@pytest.fixture
def booking(page, host):
    return Booking.objects.create(
        page=page, host=host, title="Intro", start=START, end=START + timedelta(minutes=30)
    )


@pytest.fixture
def calendar(calendars):
    return calendars[0]


def _row(model, pk: int) -> dict:
    """The stored row as the database gives it (no ORM conversion), without its id."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608 (a model's)
        names = [column[0] for column in cursor.description]  # sqlite3 gives plain tuples
        [values] = cursor.fetchall()
    return {name: value for name, value in zip(names, values, strict=True) if name != "id"}


def _compilations() -> int:
    info = compiled_inserts._compiled.cache_info()
    return info.hits + info.misses


def _both_ways(monkeypatch, write, *, unique: tuple[str, ...] = ()) -> tuple[list, list]:
    """The rows ``write(way)`` stores with the compiled INSERT and with the ORM's own (the
    compiled one turned off), each without the ``unique`` columns ``way`` tells apart."""
    before = _compilations()
    compiled = write("compiled")
    assert _compilations() > before  # the compiled INSERT did run
    with monkeypatch.context() as patched:
        patched.setattr(compiled_inserts, "_insert", lambda *args: None)
        orm = write("orm")
    rows = []
    for written in (compiled, orm):
        assert all(row.pk and not row._state.adding and row._state.db for row in written)
        stored = [_row(type(row), row.pk) for row in written]
        rows.append([{k: v for k, v in row.items() if k not in unique} for row in stored])
    return rows[0], rows[1]


def _created(model, fields: dict):
    return lambda way: [model.objects.create(**fields)]


def _booking_fields(page, host, *, variant: int) -> dict:
    fields = {
        "page": page,
        "host": host,
        "title": "Intro call ☕",
        "start": START,
        "end": START + timedelta(minutes=45),
        "invitee_name": "Zoë O'Brien",
        "invitee_email": "zoe@example.com",
        "invitee_time_zone": "Europe/Berlin",
        "answers": [{"question": "Why?", "answer": 'a "quote", \\ and ünïcode'}],
    }
    if variant:  # the other kinds: enum members, nullables set, empty JSON, a cancelled one
        fields |= {
            "page": None,
            "location": "Room 1",
            "invitee_locale": "de-DE",
            "answers": [],
            "status": BookingStatus.CANCELLED,
            "cancelled_at": START - timedelta(days=1),
            "sequence": 3,
            "rescheduled_from_start": START.astimezone(ZoneInfo("America/New_York")),
        }
    return fields


@pytest.mark.parametrize("variant", [0, 1])
def test_a_saved_booking_is_the_row_the_orm_writes(monkeypatch, page, host, variant):
    fields = _booking_fields(page, host, variant=variant)

    def write(way: str) -> list[Booking]:
        booking = Booking(**fields)
        booking.save(force_insert=True)
        return [booking]

    compiled, orm = _both_ways(monkeypatch, write, unique=("uuid",))
    assert compiled == orm
    created = compiled[0]["created_at"]  # SQLite's driver gives it naive, in UTC
    assert (created if created.tzinfo else created.replace(tzinfo=UTC)) == CLOCK
    assert compiled[0]["search_text"]  # Booking.save's own work is done as before


@pytest.mark.parametrize("variant", [0, 1])
def test_booking_insert_writes_the_row_save_writes(page, host, variant):
    """``Booking.insert`` (the booking POST's write) stores what ``save`` stores, its
    search text included, and leaves the instance saved as ``save`` does."""
    fields = _booking_fields(page, host, variant=variant)
    inserted, saved = Booking(**fields), Booking(**fields)
    seen = []

    def receiver(sender, *, signal, instance, **kwargs):
        seen.append((signal, instance.pk, kwargs.get("created"), kwargs["using"]))

    for signal in (signals.pre_save, signals.post_save):
        signal.connect(receiver, sender=Booking, weak=False)
    try:
        with CaptureQueriesContext(connection) as captured:
            inserted.insert()
    finally:
        for signal in (signals.pre_save, signals.post_save):
            signal.disconnect(receiver, sender=Booking)
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT"]
    # As save() sends them (the availability cache's version bump listens to post_save).
    assert seen == [
        (signals.pre_save, None, None, "default"),
        (signals.post_save, inserted.pk, True, "default"),
    ]
    saved.save(force_insert=True)
    assert inserted.pk
    assert not inserted._state.adding
    assert inserted._state.db == "default"
    rows = [_row(Booking, row.pk) for row in (inserted, saved)]
    for row in rows:
        row.pop("uuid")
    assert rows[0] == rows[1]
    assert rows[0]["search_text"] == inserted.search_text != ""


def test_emails_history_pushes_and_reminders_are_the_rows_the_orm_writes(
    monkeypatch, booking, host, calendar
):
    email = {"booking_id": booking.pk, "kind": "confirmed", "actor": "invitee", "queued_at": START}
    change = {
        "booking": booking,
        "kind": "rescheduled",
        "actor": "host",
        "version": 2,
        "start": START,
        "previous_start": START - timedelta(hours=1),
        "occurred_at": START.astimezone(UTC),
    }
    for model, fields in ((BookingEmail, email), (BookingChange, change)):
        compiled, orm = _both_ways(monkeypatch, _created(model, fields))
        assert compiled == orm

    def pushes(way: str) -> list[PushedEvent]:
        rows = [
            PushedEvent(
                host=host,
                calendar=calendar,
                source=f"booking:{way}:{number}",
                payload={"subject": "Intro", "when": [1, 2.5, None], "ok": True, "text": "ü"},
                state=PushState.WAITING if number else PushState.PENDING,
                queued_at=START,
                **extra,
            )
            for number, extra in enumerate(({}, {"create_request": None, "wanted": False}))
        ]
        return insert_rows(rows)

    compiled, orm = _both_ways(monkeypatch, pushes, unique=("source", "transaction_id"))
    assert compiled == orm
    assert len(compiled) == 2

    def reminders(way: str) -> list[InviteeReminder]:
        version = 0 if way == "compiled" else 1
        return insert_rows(
            [
                InviteeReminder(
                    booking=booking,
                    booking_version=version,
                    offset_minutes=offset,
                    due_at=START - timedelta(minutes=offset),
                    **extra,
                )
                for offset, extra in (
                    (60, {"next_attempt_at": START}),
                    (1440, {"state": ReminderState.SKIPPED, "skip_reason": "too late"}),
                    (5, {}),
                )
            ]
        )

    compiled, orm = _both_ways(monkeypatch, reminders, unique=("booking_version",))
    assert compiled == orm
    assert len(compiled) == 3


def test_the_sql_is_compiled_once_per_field_set_and_number_of_rows(booking, calendar, host):
    compiled_inserts._compiled.cache_clear()

    def reminders(count: int, version: int) -> list[InviteeReminder]:
        return [
            InviteeReminder(
                booking=booking, booking_version=version, offset_minutes=offset, due_at=START
            )
            for offset in range(count)
        ]

    for version in range(3):
        insert_rows(reminders(2, version))
    insert_rows(reminders(3, 9))
    for kind in ("a", "b"):
        BookingChange.objects.create(
            booking=booking, kind=kind, actor="host", start=START, occurred_at=START
        )
    info = compiled_inserts._compiled.cache_info()
    assert (info.misses, info.hits) == (3, 3)
    assert InviteeReminder.objects.filter(booking=booking).count() == 9


def test_more_rows_than_one_insert_takes_go_in_the_databases_batches(booking):
    def reminders(count: int, version: int) -> list[InviteeReminder]:
        return [
            InviteeReminder(
                booking=booking, booking_version=version, offset_minutes=offset, due_at=START
            )
            for offset in range(count)
        ]

    fields = compiled_inserts._new_row_fields(InviteeReminder)
    batch = connection.ops.bulk_batch_size(list(fields), reminders(2000, 0))
    count = min(batch + 1, 1500)  # SQLite: one more row than an INSERT takes
    with CaptureQueriesContext(connection) as captured:
        rows = insert_rows(reminders(count, 1))
    inserts = [query for query in captured.captured_queries if query["sql"].startswith("INSERT")]
    assert len(inserts) == -(-count // batch)  # PostgreSQL: one
    assert len({row.pk for row in rows}) == count
    assert InviteeReminder.objects.filter(booking=booking, booking_version=1).count() == count


def test_signals_are_sent_as_by_save_and_not_by_insert_rows(booking, calendar, host):
    seen = []

    def receiver(sender, *, instance, created=None, **kwargs):
        seen.append((sender.__name__, instance.pk, created))

    signals.post_save.connect(receiver, weak=False)
    try:
        change = BookingChange.objects.create(
            booking=booking, kind="no_show", actor="host", start=START, occurred_at=START
        )
        insert_rows(
            [InviteeReminder(booking=booking, booking_version=5, offset_minutes=1, due_at=START)]
        )
    finally:
        signals.post_save.disconnect(receiver)
    assert seen == [("BookingChange", change.pk, True)]


def test_an_expression_is_left_to_the_orm(booking):
    change = BookingChange.objects.create(
        booking=booking, kind="x", actor="host", start=START, occurred_at=Now()
    )
    change.refresh_from_db()
    assert change.occurred_at not in (None, CLOCK)  # the database's clock, not a parameter


def test_a_failed_insert_rows_marks_the_callers_transaction_for_rollback(booking):
    # As bulk_create does: the caller's atomic block cannot go on (and commit) as if the
    # rows were written once their INSERT failed.
    def reminder() -> InviteeReminder:
        return InviteeReminder(booking=booking, booking_version=1, offset_minutes=60, due_at=START)

    insert_rows([reminder()])
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_rows([reminder()])  # the same booking, version and offset
        assert transaction.get_rollback()
    assert InviteeReminder.objects.filter(booking=booking).count() == 1


def test_insert_values_writes_the_rows_the_orm_writes_from_plain_values(booking, host):
    """A booking's side rows written from dictionaries (``insert_values``: defaults for
    the fields not named, the time for auto_now/auto_now_add) are the rows the ORM writes
    from instances, on either database, all of a model's rows in one INSERT."""
    cases = [
        (
            BookingEmail,
            [
                {
                    "booking_id": booking.pk,
                    "kind": "confirmed",
                    "actor": "invitee",
                    "booking_version": 0,
                    "previous_host_id": None,
                    "queued_at": START,
                },
                {
                    "booking_id": booking.pk,
                    "kind": "rescheduled",
                    "actor": "host",
                    "booking_version": 1,
                    "previous_host_id": host.pk,
                    "queued_at": START,
                },
            ],
        ),
        (
            BookingChange,
            [
                {
                    "booking_id": booking.pk,
                    "kind": "confirmed",
                    "actor": "invitee",
                    "version": 0,
                    "start": START,
                    "previous_start": None,
                    "reason": "",
                    "occurred_at": START,
                }
            ],
        ),
        (
            InviteeReminder,
            [
                {
                    "booking_id": booking.pk,
                    "booking_version": 0,
                    "offset_minutes": offset,
                    "due_at": START - timedelta(minutes=offset),
                    "next_attempt_at": None if late else START,
                    "state": "skipped" if late else "pending",
                    "skip_reason": "too late" if late else "",
                }
                for offset, late in ((1440, True), (60, False))
            ],
        ),
    ]
    for model, rows in cases:
        with CaptureQueriesContext(connection) as captured:
            ids = compiled_inserts.insert_values(model, rows)
        assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT"]
        assert len(ids) == len(rows)
        assert all(isinstance(pk, int) for pk in ids)
        by_values = [_row(model, pk) for pk in ids]
        made = []
        for row in rows:
            if model is InviteeReminder:  # the same offsets again: another version
                row = {**row, "booking_version": 7}
            made.append(model.objects.create(**row).pk)
        by_orm = [_row(model, pk) for pk in made]
        if model is InviteeReminder:
            for stored in by_orm:
                stored["booking_version"] = 0
        assert by_values == by_orm
        assert all(
            stored["created_at"] is not None for stored in by_values if "created_at" in stored
        )

    with pytest.raises(TypeError, match="booking"):
        compiled_inserts.insert_values(BookingChange, [{"booking": booking}])
    assert compiled_inserts.insert_values(BookingChange, []) == []


# Outside a test transaction: SQLite's schema editor cannot run inside one.
@pytest.mark.django_db(transaction=True)
def test_insert_values_dates_an_auto_now_datefield_as_saving_does_in_the_sites_zone(
    monkeypatch,
):
    """A ``DateField(auto_now=True)`` gets today's date in the site's time zone, as
    ``save()`` gives it (``date.today()``), also when that date is not UTC's: the time of
    the call, an aware datetime, is made a date in ``TIME_ZONE`` by the field."""
    from django.db import models
    from django.test.utils import isolate_apps, override_settings

    from ops.compiled_inserts import insert_values

    # The real clock: ``save()`` reads ``date.today()``, which the stopped clock does not stop.
    monkeypatch.setattr(timezone, "now", lambda: datetime.now(UTC))
    now = timezone.now()
    # A zone whose date differs from UTC's now: 12 h behind before noon, 14 h ahead after.
    zone = "Etc/GMT+12" if now.hour < 12 else "Etc/GMT-14"
    with isolate_apps("booking"), override_settings(TIME_ZONE=zone):

        class Dated(models.Model):
            label = models.CharField(max_length=10)
            day = models.DateField(auto_now=True)

            class Meta:
                app_label = "booking"

            def __str__(self) -> str:
                return self.label

        with connection.schema_editor() as editor:
            editor.create_model(Dated)
        try:
            saved = Dated.objects.create(label="orm")
            [pk] = insert_values(Dated, [{"label": "values"}])
            written = Dated.objects.get(pk=pk).day
            assert written == Dated.objects.get(pk=saved.pk).day
            assert written == timezone.localdate()
            assert written != now.astimezone(UTC).date()
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Dated)
