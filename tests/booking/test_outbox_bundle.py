"""One booking change, one message to the workers: the outbox bundle (``outbox.dispatch``).

A transaction's outbox tasks (the calendar push, the emails, webhooks) leave as one
bundle when it commits; a worker runs its items one after the other, each as its own
task would (its own row, claim and retries), within time limits that keep each
item's lease. These tests look at what is sent to the broker and at what a bundle
does when run; the worker tests (tests/calendars/test_workers.py and
tests/booking/test_emails_worker.py) show the real thing end to end.
"""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from booking.email_outbox import EMAIL_TASK
from booking.models import BookingEmail
from booking.services.bookings import Invitee, booking_create
from calendars.dispatch import PUSH_TASK
from calendars.models import PushedEvent
from outbox import dispatch
from scheduleonce.celery import app
from tests.support.booking import at, workday

DANA = Invitee("Dana Invitee", "dana@example.com", "Asia/Kolkata")


@pytest.fixture
def sent(monkeypatch):
    """What reaches the broker: (task name, args, options), sent by the publisher thread."""
    messages: list[tuple[str, list, dict]] = []

    def record(name, *, args, countdown=None, options=None):
        messages.append((name, args, dict(options or {})))
        return True

    monkeypatch.setattr(dispatch, "task_send", record)
    return messages


def _drain() -> None:
    assert dispatch.publisher_drain(10)


@pytest.mark.django_db(transaction=True)
def test_a_booking_with_a_calendar_leaves_as_one_message_with_its_push_and_emails(
    page, calendars, sent
):
    _drain()
    sent.clear()  # what connecting the calendar queued
    booking = booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    _drain()

    [push] = PushedEvent.objects.filter(source=booking.mirror_source)
    [email] = BookingEmail.objects.filter(booking=booking)
    assert sent == [
        (
            dispatch.BUNDLE_TASK,
            # The push leads (the confirmation can then carry its join link), then the emails.
            [[[PUSH_TASK, [push.pk]], [EMAIL_TASK, [email.pk]]]],
            {"soft_time_limit": 60, "time_limit": 90},
        )
    ]
    # The bundle is stopped no later than either item would be on its own.
    for name in (PUSH_TASK, EMAIL_TASK):
        assert app.tasks[name].time_limit >= 90
        assert app.tasks[name].soft_time_limit >= 60


@pytest.mark.django_db(transaction=True)
def test_the_push_runs_before_the_confirmation_emails_with_a_deadline_for_its_calls(
    page, calendars, sent, monkeypatch
):
    """The push goes first, so the confirmation can carry its join link; but a push can
    wait long on Graph (its 30-second read timeout, throttling waits): its calls must end
    within CONFIRMATION_WAITS_FOR_LINK seconds (``ops.deadline``, which the Graph session
    obeys), so the emails the invitee and host wait for never wait longer than that."""
    from django.core import mail

    from booking.email_outbox import CONFIRMATION_WAITS_FOR_LINK
    from calendars import tasks as calendar_tasks
    from ops.deadline import seconds_left
    from outbox.outcomes import Outcome, Status

    seen: list[tuple[int, float | None]] = []

    def push(*, pushed_event_id):
        seen.append((len(mail.outbox), seconds_left()))
        return Outcome(Status.SYNCED)

    monkeypatch.setattr(calendar_tasks, "pushed_event_push", push)
    _drain()
    sent.clear()
    booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    _drain()
    [(name, [items], limits)] = sent
    assert name == dispatch.BUNDLE_TASK
    mail.outbox.clear()

    assert dispatch.bundle_run(items, time_limit=limits["time_limit"]) == 2
    [(emails_before_push, left)] = seen
    assert emails_before_push == 0
    assert 0 < left <= CONFIRMATION_WAITS_FOR_LINK
    assert sorted(message.to[0] for message in mail.outbox) == [
        "alice@example.com",
        "dana@example.com",
    ]
    assert seconds_left() is None  # the deadline was the push's only


@pytest.mark.django_db(transaction=True)
def test_pushes_not_started_within_the_bound_run_after_the_emails(ran, sent, monkeypatch):
    """Several bookings' pushes lead their emails for at most the bound in all: a push
    that would start later runs after the emails, with no deadline."""
    import time

    from booking.email_outbox import CONFIRMATION_WAITS_FOR_LINK
    from calendars import tasks as calendar_tasks
    from ops.deadline import seconds_left
    from outbox.outcomes import Outcome, Status

    monkeypatch.setitem(dispatch._LEAD, PUSH_TASK, 0.3)
    deadlines: dict[int, float | None] = {}

    def slow_push(*, pushed_event_id):
        ran.append(("push", pushed_event_id))
        deadlines[pushed_event_id] = seconds_left()
        time.sleep(0.4)
        return Outcome(Status.SYNCED)

    monkeypatch.setattr(calendar_tasks, "pushed_event_push", slow_push)
    items = [[PUSH_TASK, [1]], [PUSH_TASK, [3]], [EMAIL_TASK, [2]], [EMAIL_TASK, [4]]]
    assert dispatch.bundle_run(items, time_limit=90) == 4
    assert ran == [("push", 1), ("email", 2), ("email", 4), ("push", 3)]
    assert 0 < deadlines[1] <= 0.3 < CONFIRMATION_WAITS_FOR_LINK
    assert deadlines[3] is None
    assert sent == []


@pytest.mark.django_db(transaction=True)
def test_a_booking_without_a_calendar_sends_its_email_task_alone(page, sent):
    booking = booking_create(page=page, start=at(workday("Europe/London"), 10), invitee=DANA)
    _drain()
    [email] = BookingEmail.objects.filter(booking=booking)
    assert sent == [(EMAIL_TASK, [email.pk], {})]


@pytest.mark.django_db(transaction=True)
def test_what_a_rolled_back_savepoint_asked_for_is_never_sent(sent):
    with transaction.atomic():
        dispatch.task_send_on_commit(PUSH_TASK, args_list=[[1]])
        try:
            with transaction.atomic():
                dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[2]])
                raise RuntimeError("undone")
        except RuntimeError:
            pass
        with transaction.atomic():
            dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[3]])  # released: it stays
        dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[4]])
    _drain()
    asked = []
    for name, args, _options in sent:
        asked += args[0] if name == dispatch.BUNDLE_TASK else [[name, args]]
    assert sorted(asked) == [[EMAIL_TASK, [3]], [EMAIL_TASK, [4]], [PUSH_TASK, [1]]]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing(sent):
    def booking_that_fails():
        with transaction.atomic():
            dispatch.task_send_on_commit(PUSH_TASK, args_list=[[1]])
            dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[2]])
            raise RuntimeError("the booking failed")

    with pytest.raises(RuntimeError):
        booking_that_fails()
    _drain()
    assert sent == []


@pytest.mark.django_db(transaction=True)
def test_tasks_that_did_not_opt_in_are_sent_on_their_own(sent):
    with transaction.atomic():
        dispatch.task_send_on_commit(PUSH_TASK, args_list=[[1]])
        dispatch.task_send_on_commit("calendars.tasks.sync_connection", args_list=[[7]])
    _drain()
    assert sent == [
        (PUSH_TASK, [1], {}),
        ("calendars.tasks.sync_connection", [7], {}),
    ]


@pytest.fixture
def publisher_held(sent, monkeypatch):
    """The publisher thread held in its first send until ``release()`` is called: what
    transactions commit meanwhile waits for it, as under load. ``entered`` is set once
    it holds."""
    _drain()  # what the fixtures before this one queued goes first, unheld
    record = dispatch.task_send  # the `sent` recorder
    entered, gate = threading.Event(), threading.Event()

    def slow(name, **kwargs):
        entered.set()
        assert gate.wait(30)
        return record(name, **kwargs)

    monkeypatch.setattr(dispatch, "task_send", slow)
    slow.entered, slow.release = entered, gate.set
    return slow


def _book_as(page, request: str, hour: int):
    from ops.logging import log_context_bound

    invitee = Invitee(f"Invitee {hour}", f"i{hour}@example.com", "Europe/Berlin")
    with log_context_bound(request_id=request):
        return booking_create(page=page, start=at(workday("Europe/London"), hour), invitee=invitee)


def _items_of(booking) -> tuple[int, int]:
    [push] = PushedEvent.objects.filter(source=booking.mirror_source)
    [email] = BookingEmail.objects.filter(booking=booking)
    return email.pk, push.pk


@pytest.mark.django_db(transaction=True)
def test_bookings_that_wait_for_the_publisher_leave_together_each_item_with_its_request(
    page, calendars, sent, publisher_held
):
    _drain()
    sent.clear()
    first = _book_as(page, "req-9", 9)
    assert publisher_held.entered.wait(10)  # sending the first booking's bundle
    waiting = [_book_as(page, f"req-{hour}", hour) for hour in (10, 11, 12)]
    publisher_held.release()
    _drain()

    email, push = _items_of(first)
    hours = (10, 11, 12)
    items = {f"req-{h}": _items_of(booking) for booking, h in zip(waiting, hours, strict=True)}
    limits = {"soft_time_limit": 60, "time_limit": 90}
    assert sent == [
        (dispatch.BUNDLE_TASK, [[[PUSH_TASK, [push]], [EMAIL_TASK, [email]]]], limits),
        (
            dispatch.BUNDLE_TASK,
            [
                [[PUSH_TASK, [p], request] for request, (_, p) in items.items()]
                + [[EMAIL_TASK, [e], request] for request, (e, _) in items.items()]
            ],
            limits,  # the smallest of its items', as for one booking's
        ),
    ]


@pytest.mark.django_db(transaction=True)
def test_at_most_bundle_max_jobs_transactions_share_one_message(
    page, calendars, sent, publisher_held, monkeypatch
):
    monkeypatch.setattr(dispatch, "BUNDLE_MAX_JOBS", 2)
    _drain()
    sent.clear()
    _book_as(page, "req-9", 9)
    assert publisher_held.entered.wait(10)
    for hour in (10, 11, 12):
        _book_as(page, f"req-{hour}", hour)
    publisher_held.release()
    _drain()

    bundles = [args[0] for name, args, _ in sent if name == dispatch.BUNDLE_TASK]
    assert [len(items) for items in bundles] == [2, 4, 2]
    assert {item[2] for item in bundles[1]} == {"req-10", "req-11"}


# --- running a bundle -----------------------------------------------------------------------


@pytest.fixture
def ran(monkeypatch):
    """Stand-ins for the email and push tasks' work: what each run was given, in order."""
    from booking import tasks as booking_tasks
    from calendars import tasks as calendar_tasks
    from outbox.outcomes import Outcome, Status

    calls: list[tuple[str, int]] = []

    def push(*, pushed_event_id):
        calls.append(("push", pushed_event_id))
        if pushed_event_id == 13:
            raise RuntimeError("a bug in one item")
        if pushed_event_id == 21:
            # What a push's committed work asks for (the join-link email) runs here too.
            with transaction.atomic():
                dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[22]])
        return Outcome(Status.SYNCED)

    def email(*, email_id):
        calls.append(("email", email_id))
        return Outcome(Status.SYNCED)

    monkeypatch.setattr(calendar_tasks, "pushed_event_push", push)
    monkeypatch.setattr(booking_tasks, "booking_emails_deliver", email)
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_bundle_runs_each_item_in_order_and_a_failing_one_stops_no_other(ran, sent):
    count = dispatch.bundle_run(
        [[PUSH_TASK, [13]], [EMAIL_TASK, [14]], [PUSH_TASK, [21]]], time_limit=90
    )
    # The pushes lead the emails (those a push asked for come last).
    assert ran == [("push", 13), ("push", 21), ("email", 14), ("email", 22)]
    assert count == 4
    assert sent == []  # nothing went through the broker


@pytest.mark.django_db(transaction=True)
def test_a_bundle_never_runs_an_item_past_its_own_time_limit(ran, sent):
    # A bundle without limits (or longer ones than an item's) would outlive that item's
    # lease: such items go to the broker as their own tasks.
    assert dispatch.bundle_run([[PUSH_TASK, [1]], [EMAIL_TASK, [2]]], time_limit=None) == 0
    assert dispatch.bundle_run([[PUSH_TASK, [3]]], time_limit=10_000) == 0
    assert ran == []
    assert [(name, args) for name, args, _ in sent] == [
        (PUSH_TASK, [1]),
        (EMAIL_TASK, [2]),
        (PUSH_TASK, [3]),
    ]


@pytest.mark.django_db(transaction=True)
def test_items_a_slow_bundle_has_not_started_go_to_the_broker_on_their_own(ran, sent, monkeypatch):
    monkeypatch.setattr(dispatch, "BUNDLE_INLINE_WINDOW", -1)  # every start is "too late"
    count = dispatch.bundle_run(
        [[PUSH_TASK, [1]], [EMAIL_TASK, [2]], [PUSH_TASK, [3]]], time_limit=90
    )
    assert count == 2  # the pushes lead within their own bound (shorter than the window)
    assert ran == [("push", 1), ("push", 3)]
    assert [(name, args) for name, args, _ in sent] == [(EMAIL_TASK, [2])]


@pytest.mark.django_db(transaction=True)
def test_a_busy_publisher_waits_a_little_for_more_bookings_an_idle_one_sends_at_once(
    page, calendars, sent, monkeypatch
):
    import time

    monkeypatch.setattr(dispatch, "BUNDLE_LINGER", 3.0)  # long, so that timing cannot decide
    monkeypatch.setattr(dispatch, "BUNDLE_LINGER_AFTER", 30.0)
    _drain()  # connecting the calendar sent something just now: the publisher is busy
    sent.clear()
    _book_as(page, "req-10", 10)
    _book_as(page, "req-11", 11)  # within the linger: both leave in one bundle
    began = time.monotonic()
    _drain()  # a drain does not wait for the linger to pass
    assert time.monotonic() - began < 2.5
    [(name, [items], _)] = sent
    assert (name, {item[2] for item in items}) == (dispatch.BUNDLE_TASK, {"req-10", "req-11"})

    monkeypatch.setattr(dispatch, "BUNDLE_LINGER_AFTER", 0.0)  # now idle: no waiting
    sent.clear()
    _book_as(page, "req-12", 12)
    began = time.monotonic()
    while not sent and time.monotonic() - began < 2.5:  # no drain: sent by itself
        time.sleep(0.01)
    [(name, [items], _)] = sent
    assert (name, len(items[0])) == (dispatch.BUNDLE_TASK, 2)  # one request's: [name, args]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "countdown"),
    [("calendars.tasks.sync_connection", None), (PUSH_TASK, 2.0)],
)
def test_a_busy_publisher_sends_what_cannot_share_a_bundle_at_once(
    page, calendars, sent, monkeypatch, name, countdown
):
    """A sync, or a debounced (countdown) push, would only arrive later for the wait:
    it never joins a bundle. Waiting had made a debounced sync run after its own
    debounce window, so notifications meanwhile queued a second one."""
    import time

    monkeypatch.setattr(dispatch, "BUNDLE_LINGER", 3.0)
    monkeypatch.setattr(dispatch, "BUNDLE_LINGER_AFTER", 30.0)
    _drain()  # connecting the calendar sent something just now: the publisher is busy
    sent.clear()
    with transaction.atomic():
        dispatch.task_send_on_commit(name, args_list=[[1]], countdown=countdown)
    began = time.monotonic()
    while not sent and time.monotonic() - began < 2.5:  # no drain: sent by itself
        time.sleep(0.01)
    assert [(n, args) for n, args, _ in sent] == [(name, [1])]


@pytest.mark.django_db(transaction=True)
def test_each_item_of_a_bundle_of_several_requests_runs_and_is_sent_on_under_its_own(
    monkeypatch,
):
    from booking import tasks as booking_tasks
    from calendars import tasks as calendar_tasks
    from ops.logging import request_id
    from outbox.outcomes import Outcome, Status

    seen: list[tuple[str, int, str | None]] = []

    def push(*, pushed_event_id):
        seen.append(("push", pushed_event_id, request_id()))
        with transaction.atomic():  # its join-link email joins the bundle
            dispatch.task_send_on_commit(EMAIL_TASK, args_list=[[pushed_event_id + 1]])
        return Outcome(Status.SYNCED)

    def email(*, email_id):
        seen.append(("email", email_id, request_id()))
        return Outcome(Status.SYNCED)

    monkeypatch.setattr(calendar_tasks, "pushed_event_push", push)
    monkeypatch.setattr(booking_tasks, "booking_emails_deliver", email)
    sent_on: list[tuple[str, list, str | None]] = []
    monkeypatch.setattr(
        dispatch, "task_send", lambda name, *, args, **_: sent_on.append((name, args, request_id()))
    )

    class Request:  # the bundle's own Celery request: its message named the first request
        id, request_id, headers = "bundle-1", "req-1", {"request_id": "req-1"}
        hostname, timelimit, is_eager = "w@h", (90, 60), False

    items = [[EMAIL_TASK, [1], "req-1"], [EMAIL_TASK, [2], "req-2"], [PUSH_TASK, [20], "req-2"]]
    assert dispatch.bundle_run(items, time_limit=90, request=Request()) == 4
    assert seen == [
        ("push", 20, "req-2"),  # the push leads
        ("email", 1, "req-1"),
        ("email", 2, "req-2"),
        ("email", 21, "req-2"),  # asked for by req-2's push
    ]
    assert sent_on == []

    monkeypatch.setattr(dispatch, "BUNDLE_INLINE_WINDOW", -1)  # a slow bundle: the rest go on
    seen.clear()
    assert dispatch.bundle_run(items, time_limit=90, request=Request()) == 1
    assert seen == [("push", 20, "req-2")]
    assert sent_on == [
        (EMAIL_TASK, [1], "req-1"),
        (EMAIL_TASK, [2], "req-2"),
        (EMAIL_TASK, [21], "req-2"),
    ]


# --- the database connection between a bundle's items --------------------------------------


@pytest.fixture
def querying(monkeypatch):
    """Stand-ins for the email and push tasks' work that use the database: an email row
    id 66 leaves its connection broken as a database restart would (its server process
    ended under it); every other item reads a row. What each read returned, in order."""
    from django.db import connection

    from booking import tasks as booking_tasks
    from calendars import tasks as calendar_tasks
    from outbox.outcomes import Outcome, Status

    reads: list[tuple[str, int]] = []

    def read(kind: str, item_id: int) -> Outcome:
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s", [item_id])
            reads.append((kind, cursor.fetchone()[0]))
        return Outcome(Status.SYNCED)

    def email(*, email_id):
        if email_id == 66:
            _end_own_backend()
            read("email", email_id)  # raises: the server closed the connection
        return read("email", email_id)

    monkeypatch.setattr(
        calendar_tasks, "pushed_event_push", lambda **kw: read("push", *kw.values())
    )
    monkeypatch.setattr(booking_tasks, "booking_emails_deliver", email)
    return reads


def _end_own_backend() -> None:
    """End this connection's PostgreSQL server process from another connection."""
    import psycopg2
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        other.commit()
    finally:
        other.close()


def _health_checks(monkeypatch) -> list[int]:
    """Count Django's health checks (``CONN_HEALTH_CHECKS``' SELECT 1 on the raw
    connection, which no captured query shows)."""
    from django.db import connection

    checks: list[int] = []
    usable = connection.is_usable

    def counted() -> bool:
        checks.append(1)
        return usable()

    monkeypatch.setattr(connection, "is_usable", counted)
    return checks


def _postgresql_only() -> None:
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.settings_dict["CONN_HEALTH_CHECKS"]:
        pytest.skip("PostgreSQL's connection health checks")


@pytest.mark.django_db(transaction=True)
def test_a_bundle_checks_its_database_connection_once_not_once_per_item(
    querying, sent, monkeypatch
):
    from django.db import close_old_connections, connection

    _postgresql_only()
    checks = _health_checks(monkeypatch)
    connection.ensure_connection()  # kept from an earlier task
    close_old_connections()  # what the bundle's own task_prerun does, as for any task
    items = [[EMAIL_TASK, [1]], [PUSH_TASK, [2]], [EMAIL_TASK, [3]]]
    assert dispatch.bundle_run(items, time_limit=90) == 3
    assert querying == [("push", 2), ("email", 1), ("email", 3)]
    assert len(checks) == 1


@pytest.mark.django_db(transaction=True)
def test_after_an_item_lost_its_database_connection_the_next_item_gets_a_new_one(querying, sent):
    """As after a database restart mid-bundle: the item that met it fails (its row is
    left for its retry or the sweeper), the next one is not handed the dead connection."""
    _postgresql_only()
    items = [[EMAIL_TASK, [1]], [EMAIL_TASK, [66]], [PUSH_TASK, [2]]]
    assert dispatch.bundle_run(items, time_limit=90) == 3
    assert querying == [("push", 2), ("email", 1)]
