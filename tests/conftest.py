"""Shared fixtures: the cast of users, service checks, and real worker processes."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection, connections

from tests.support.browser import Screenshots, chromium_browser, chromium_path
from tests.support.net import free_port
from tests.support.services import redis_available, require_services
from tests.support.worker import CeleryBeat, CeleryWorker

if settings.GRAPH_SANDBOX:
    # The Graph sandbox plugin: the graph_sandbox_server fixture (see its docstring).
    from tests.support.graph_sandbox import (  # noqa: F401
        _graph_sandbox_listeners,
        graph_sandbox_server,
        notification_receiver,
        pytest_collection_modifyitems,
    )


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate limits and failed log-ins are counted in the cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


class MovableClock:
    """A clock that stands still until a test moves it (seconds since the epoch)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def login_clock(monkeypatch) -> MovableClock:
    """The log-in throttle's clock, moved by the test instead of sleeping."""
    import time

    from accounts import login_throttle

    clock = MovableClock(time.time())
    monkeypatch.setattr(login_throttle, "clock", clock)
    return clock


@pytest.fixture
def host(django_user_model):
    """Alice, a host with an account and nothing else yet."""
    return django_user_model.objects.create_user(
        "alice@example.com", "alice-password-1", name="Alice Host", time_zone="Europe/London"
    )


@pytest.fixture
def teammate(django_user_model):
    """Bob, another host on the same installation."""
    return django_user_model.objects.create_user(
        "bob@example.com", "bob-password-1", name="Bob Teammate", time_zone="America/New_York"
    )


@pytest.fixture
def outsider(django_user_model):
    """Charlie, a host who must never see Alice's or Bob's things."""
    return django_user_model.objects.create_user(
        "charlie@example.com", "charlie-password-1", name="Charlie Outsider"
    )


@pytest.fixture
def alices_things(host):
    """A page with a question of each kind, a connected calendar and one booking:
    (page, connection, the booking's links)."""
    from booking.services.bookings import Invitee, booking_create
    from booking.services.pages import QuestionData, page_create
    from booking.tokens import booking_paths
    from calendars.models import Calendar, CalendarConnection
    from tests.support.booking import at, workday

    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    Calendar.objects.create(connection=connection, remote_id="A", name="Calendar", is_default=True)
    page = page_create(
        host=host,
        fields={"title": "Intro call", "slug": "intro"},
        questions=[
            QuestionData(label="Company", kind="text", required=True),
            QuestionData(label="Size", kind="choice", options=("Small", "Large")),
            QuestionData(label="Phone", kind="phone"),
        ],
    )
    booking = booking_create(
        page=page,
        start=at(workday("Europe/London"), 10),
        invitee=Invitee(name="Dana", email="dana@example.com", time_zone="Asia/Kolkata"),
    )
    return page, connection, booking_paths(booking)


@pytest.fixture
def host_client(client, host):
    client.force_login(host)
    return client


def _skip_or_fail(reason: str) -> None:
    if require_services():
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _service_markers(request):
    is_postgres = connection.settings_dict["ENGINE"] == "django.db.backends.postgresql"
    if request.node.get_closest_marker("postgres") and not is_postgres:
        _skip_or_fail("the database is not PostgreSQL (set DATABASE_URL)")
    if request.node.get_closest_marker("redis") and not redis_available():
        _skip_or_fail("Redis is not reachable (set CELERY_BROKER_URL=redis://...)")


def _purge_broker() -> None:
    """Drop messages earlier tests queued without a worker (e.g. pushes queued on commit)."""
    from scheduleonce.celery import app

    app.control.purge()


@pytest.fixture
def broker_unreachable():
    """Point the Celery app at a port where no broker listens, as when Redis is down."""
    from scheduleonce.celery import app

    names = ("broker_write_url", "broker_transport_options", "broker_connection_timeout")
    saved = {name: app.conf.get(name) for name in names}
    # The write URL: Celery prefers a CELERY_BROKER_URL in the environment to broker_url.
    app.conf.broker_write_url = f"redis://127.0.0.1:{free_port()}/0"
    app.conf.broker_transport_options = {}
    app.conf.broker_connection_timeout = 1
    _forget_broker_connections(app)
    yield
    app.conf.update(saved)
    _forget_broker_connections(app)


def _forget_broker_connections(app) -> None:
    """Drop the pools that hold connections to the broker the app was using."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_worker(transactional_db):
    """A real `celery worker` process on the configured broker and the test database."""
    _purge_broker()
    worker = CeleryWorker(extra_env={})
    worker.start()
    yield worker
    worker.kill()  # at once: a graceful stop takes seconds and is not what tests check


@pytest.fixture
def worker_factory(transactional_db):
    """Start real worker processes with extra environment; all are ended afterwards.

    The broker's queue is emptied first (not between workers: a second worker must
    find what a killed first one left behind).
    """
    _purge_broker()
    workers: list[CeleryWorker] = []

    def start(concurrency: int = 2, **extra_env: str) -> CeleryWorker:
        worker = CeleryWorker(extra_env=extra_env, concurrency=concurrency)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()  # at once: a graceful stop takes seconds and is not what tests check


@pytest.fixture
def beat_factory(transactional_db, tmp_path):
    """Start a real `celery beat` process (its own schedule file); stopped afterwards."""
    beats: list[CeleryBeat] = []

    def start(**extra_env: str) -> CeleryBeat:
        beat = CeleryBeat(extra_env=extra_env, schedule_file=tmp_path / f"beat-{len(beats)}")
        beat.start()
        beats.append(beat)
        return beat

    yield start
    for beat in beats:
        beat.kill()


@pytest.fixture
def chromium():
    """Debian's Chromium, headless, through Playwright (skipped where none is installed).

    Fails the test if any page reported a Content-Security-Policy violation.
    """
    path = chromium_path()
    if not os.path.exists(path):
        _skip_or_fail(f"Chromium is not installed at {path} (set CHROMIUM_PATH)")
    with chromium_browser() as browser:
        yield browser
        # ORM calls made while Playwright's loop runs get their own connection, which
        # only a close from inside that loop reaches; left open, it outlives the test.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            connections.close_all()
        # Every page ran under our Content-Security-Policy: none of it may have been refused.
        browser.csp.assert_none()


@pytest.fixture
def screenshots(request) -> Screenshots:
    return Screenshots(request.node.name)


def pytest_report_header(config):
    db = os.environ.get("DATABASE_URL", "sqlite (default)").split("@")[-1]
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem:// (default)").split("@")[-1]
    return [f"scheduleonce: database {db}, broker {broker}"]
