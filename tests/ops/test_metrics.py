"""/metrics: the gauges against a database in a known state, the counters, the token rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from booking.services.bookings import Invitee, booking_create
from booking.services.pages import page_create
from calendars.models import Calendar, CalendarConnection, ConnectionStatus, PushedEvent, PushState
from calendars.providers import ProviderError
from calendars.providers.office365.graph import GraphClient
from tests.support.booking import at, workday
from tests.support.net import free_port

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.metrics.test/v1.0"
TOKEN = "metrics-token-for-tests"


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a /metrics answer: {(name, sorted labels): value}."""
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200, answer.content[:300]
    assert answer["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(answer.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _connection(host, *, n: int, **fields) -> CalendarConnection:
    return CalendarConnection.objects.create(
        host=host, provider="office365", account_id=f"uid{n}.tid", account_email=f"a{n}@x.test",
        **fields,
    )  # fmt: skip


@pytest.fixture
def known_state(host, teammate, outsider, django_user_model):
    """Three connected accounts (one expiring in 2 days), one disconnected; busy calendars
    synced 5 and 20 minutes ago; pushes: 2 pending, 1 waiting, 3 failed, 1 synced."""
    now = timezone.now()
    dave = django_user_model.objects.create_user("dave@example.com", "dave-password-1")
    fine = _connection(host, n=1, refresh_expires_at=now + timedelta(days=60))
    _connection(teammate, n=2, refresh_expires_at=None)
    soon = _connection(outsider, n=3, refresh_expires_at=now + timedelta(days=2))
    gone = _connection(dave, n=4, status=ConnectionStatus.DISCONNECTED)
    fresh = Calendar.objects.create(
        connection=fine, remote_id="A", name="A", busy_horizon_days=30,
        last_synced_at=now - timedelta(minutes=5),
    )  # fmt: skip
    Calendar.objects.create(
        connection=soon, remote_id="B", name="B", busy_horizon_days=30,
        last_synced_at=now - timedelta(minutes=20),
    )  # fmt: skip
    # Not read by any page, or of a disconnected account: not part of the lag.
    Calendar.objects.create(
        connection=fine, remote_id="C", name="C", busy_horizon_days=0,
        last_synced_at=now - timedelta(days=3),
    )  # fmt: skip
    Calendar.objects.create(
        connection=gone, remote_id="D", name="D", busy_horizon_days=30,
        last_synced_at=now - timedelta(days=3),
    )  # fmt: skip
    states = [PushState.PENDING] * 2 + [PushState.WAITING] + [PushState.FAILED] * 3
    for number, state in enumerate([*states, PushState.SYNCED]):
        PushedEvent.objects.create(
            host=host, calendar=fresh, source=f"booking:{number}", payload={}, state=state
        )
    return now


def test_gauges_count_a_known_database(client, known_state):
    samples = scrape(client)

    connections = "scheduleonce_calendar_connections"
    assert value(samples, connections, status="connected") == 2
    assert value(samples, connections, status="expiring") == 1
    assert value(samples, connections, status="disconnected") == 1
    next_expiry = value(samples, "scheduleonce_calendar_connection_next_expiry_seconds")
    assert 2 * 86400 - 60 < next_expiry <= 2 * 86400
    assert value(samples, "scheduleonce_pushes", state="pending") == 2
    assert value(samples, "scheduleonce_pushes", state="waiting") == 1
    assert value(samples, "scheduleonce_pushes", state="failed") == 3
    assert ("scheduleonce_pushes", (("state", "synced"),)) not in samples
    lag = value(samples, "scheduleonce_busy_sync_lag_seconds")
    assert 20 * 60 <= lag < 20 * 60 + 60
    assert value(samples, "scheduleonce_celery_queue_length", queue="celery") >= 0
    assert ("scheduleonce_celery_queue_length", (("queue", "celery"),)) in samples


def test_a_calendar_never_synced_counts_from_when_its_account_signed_in(client, host):
    signed_in = timezone.now() - timedelta(hours=2)
    connection = _connection(host, n=1, signed_in_at=signed_in)
    Calendar.objects.create(connection=connection, remote_id="A", name="A", busy_horizon_days=7)

    lag = value(scrape(client), "scheduleonce_busy_sync_lag_seconds")

    assert 2 * 3600 <= lag < 2 * 3600 + 60


def test_no_page_reading_busy_time_means_no_lag(client, host):
    assert value(scrape(client), "scheduleonce_busy_sync_lag_seconds") == 0


def test_bookings_are_counted_once_committed(client, host, django_capture_on_commit_callbacks):
    page = page_create(host=host, fields={"title": "Intro call", "slug": "intro"}, questions=[])
    before = value(scrape(client), "scheduleonce_bookings_total")

    with django_capture_on_commit_callbacks(execute=True):
        for hour in (10, 11):
            booking_create(
                page=page,
                start=at(workday("Europe/London"), hour),
                invitee=Invitee(name="Dana", email="dana@example.com", time_zone="UTC"),
            )

    assert value(scrape(client), "scheduleonce_bookings_total") == before + 2


@responses.activate
def test_graph_requests_are_counted_by_status_class_and_throttling_and_timed(client):
    graph = GraphClient(access_token="t", base_url=GRAPH, sleep=lambda _: None)
    responses.get(f"{GRAPH}/me", json={"id": "1"})
    responses.get(f"{GRAPH}/me/calendars", status=404, json={"error": {"code": "NotFound"}})
    responses.get(f"{GRAPH}/me/events", status=429, headers={"Retry-After": "120"}, json={})
    before = scrape(client)

    graph.get("/me")
    for path in ("/me/calendars", "/me/events"):
        with pytest.raises(ProviderError):
            graph.get(path)

    after = scrape(client)
    requests_total = "scheduleonce_graph_requests_total"

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(requests_total, status="2xx", throttled="false") == 1
    assert delta(requests_total, status="4xx", throttled="false") == 1
    assert delta(requests_total, status="4xx", throttled="true") == 1
    assert delta("scheduleonce_graph_request_seconds_count") == 3
    assert delta("scheduleonce_graph_request_seconds_bucket", le="+Inf") == 3


def test_a_graph_call_without_an_answer_counts_as_error(client, settings):
    settings.MS_CA_BUNDLE = ""
    graph = GraphClient(access_token="t", base_url=f"http://127.0.0.1:{free_port()}/v1.0")
    before = value(
        scrape(client), "scheduleonce_graph_requests_total", status="error", throttled="false"
    )

    with pytest.raises(ProviderError):
        graph.get("/me")

    after = value(
        scrape(client), "scheduleonce_graph_requests_total", status="error", throttled="false"
    )
    assert after == before + 1


# --- who may read it ---------------------------------------------------------------------------


def test_local_runs_serve_it_on_loopback_only(client, settings):
    settings.DEBUG = True
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404


def test_production_without_a_token_answers_404(client, settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_with_a_token_only_its_bearer_gets_the_metrics(client, settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = "s3cret-metrics-token"

    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-tokeX")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-metrics-token").status_code == 401
    )
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert right.status_code == 200
    assert b"scheduleonce_pushes" in right.content
    assert b"s3cret" not in right.content


def test_with_a_token_loopback_needs_it_too(client, settings):
    settings.DEBUG = True
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401


# --- change-notification subscriptions ---------------------------------------------------------


@pytest.fixture
def subscribed_accounts(host, teammate, outsider, django_user_model):
    """Five connected accounts: four whose busy time a page reads (subscription live, lapsed,
    failing, none) and one that no page reads (its live subscription is not counted)."""
    from calendars.models import ChangeSubscription

    now = timezone.now()
    users = [host, teammate, outsider] + [
        django_user_model.objects.create_user(f"u{n}@example.com", "pw-123456789") for n in (4, 5)
    ]
    subscriptions = [
        {"remote_id": "s1", "expires_at": now + timedelta(days=2)},
        {"remote_id": "s2", "expires_at": now - timedelta(minutes=1)},
        {"last_error": "Microsoft refused the subscription"},
        None,
        {"remote_id": "s5", "expires_at": now + timedelta(days=2)},
    ]
    for number, (user, subscription) in enumerate(zip(users, subscriptions, strict=True)):
        connection = _connection(user, n=number)
        Calendar.objects.create(
            connection=connection,
            remote_id="A",
            name="A",
            busy_horizon_days=0 if number == 4 else 30,
        )
        if subscription is not None:
            ChangeSubscription.objects.create(connection=connection, **subscription)


def test_subscriptions_are_counted_by_state(client, settings, subscribed_accounts):
    settings.SITE_URL = "https://book.example.com"
    settings.CALENDAR_NOTIFICATIONS = True

    samples = scrape(client)

    assert value(samples, "scheduleonce_subscriptions", state="live") == 1
    assert value(samples, "scheduleonce_subscriptions", state="pending") == 2
    assert value(samples, "scheduleonce_subscriptions", state="failing") == 1
    assert value(samples, "scheduleonce_subscriptions", state="off") == 0


def test_subscriptions_are_off_when_the_site_cannot_receive_them(
    client, settings, subscribed_accounts
):
    settings.CALENDAR_NOTIFICATIONS = False

    samples = scrape(client)

    assert value(samples, "scheduleonce_subscriptions", state="off") == 4
    assert value(samples, "scheduleonce_subscriptions", state="live") == 0
