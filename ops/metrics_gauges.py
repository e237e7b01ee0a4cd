"""Gauges read at scrape time: from the database (a few aggregate queries) and the broker.

Read fresh on every scrape, by whichever web process answers, so the value is the
same whatever process or host is asked and no process has to keep it up to date.
Every query here is one aggregate over an indexed or small set of rows; the
benchmark (``bench/metrics_scrape.py``) times them on 10,000 connections and
1,000,000 bookings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from calendars.models import Calendar, CalendarConnection, ConnectionStatus, PushedEvent, PushState
from calendars.providers import PROVIDERS, get_provider
from calendars.services.subscriptions import notifications_unavailable_reason

logger = logging.getLogger(__name__)

SUBSCRIPTION_STATES = ("live", "pending", "failing", "off")
# Push states reported (``synced`` rows are history, and by far the most numerous).
PUSH_STATES = (PushState.PENDING, PushState.WAITING, PushState.FAILED)
BROKER_TIMEOUT = 2.0


def connections_by_status(*, now: datetime) -> dict[str, int]:
    """Every connection once: ``expiring`` (connected, inside the warning window),
    ``connected`` (the other connected ones) and ``disconnected``."""
    window = timedelta(days=max(settings.CALENDAR_EXPIRY_WARNING_DAYS, default=0))
    live = Q(status=ConnectionStatus.CONNECTED)
    expiring = live & Q(refresh_expires_at__lte=now + window)
    counts = CalendarConnection.objects.aggregate(
        live=Count("pk", filter=live),
        expiring=Count("pk", filter=expiring),
        disconnected=Count("pk", filter=~live),
        next_expiry=Min("refresh_expires_at", filter=live),
    )
    return {
        "connected": counts["live"] - counts["expiring"],
        "expiring": counts["expiring"],
        "disconnected": counts["disconnected"],
        "next_expiry": counts["next_expiry"],
    }


def pushes_by_state() -> dict[str, int]:
    rows = (
        PushedEvent.objects.filter(state__in=PUSH_STATES)
        .values("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    found = {row["state"]: row["n"] for row in rows}
    return {str(state): found.get(state, 0) for state in PUSH_STATES}


def busy_sync_lag_seconds(*, now: datetime) -> float:
    """Age of the stalest busy time a booking page reads (0 when no page reads any).

    Calendars some active page reads (``busy_horizon_days`` > 0) of connected accounts;
    one never synced counts from when its account was signed in.
    """
    oldest = Calendar.objects.filter(
        is_active=True,
        busy_horizon_days__gt=0,
        connection__status=ConnectionStatus.CONNECTED,
    ).aggregate(
        oldest=Min(
            Coalesce("last_synced_at", "connection__signed_in_at", "connection__connected_at")
        )
    )["oldest"]
    if oldest is None:
        return 0.0
    return max(0.0, (now - oldest).total_seconds())


def subscriptions_by_state(*, now: datetime) -> dict[str, int]:
    """Change notifications of the accounts synced for busy time, by the states
    ``calendar_status`` shows: ``live``, ``failing``, ``pending`` (none yet, or lapsed
    without an error) and ``off`` (the site cannot receive them: every account)."""
    supported = [key for key in PROVIDERS if get_provider(key).supports_notifications]
    read = Calendar.objects.filter(
        connection=OuterRef("pk"), is_active=True, busy_horizon_days__gt=0
    )  # the accounts synced for busy time (busy_sync.connections_to_sync), as one EXISTS
    accounts = CalendarConnection.objects.live().filter(Exists(read), provider__in=supported)
    states = dict.fromkeys(SUBSCRIPTION_STATES, 0)
    if notifications_unavailable_reason():
        states["off"] = accounts.count()
        return states
    live = Q(change_subscription__remote_id__gt="", change_subscription__expires_at__gt=now)
    counts = accounts.aggregate(
        total=Count("pk"),
        live=Count("pk", filter=live),
        failing=Count("pk", filter=~live & Q(change_subscription__last_error__gt="")),
    )
    states["live"] = counts["live"]
    states["failing"] = counts["failing"]
    states["pending"] = counts["total"] - counts["live"] - counts["failing"]
    return states


def queue_names() -> list[str]:
    names = {current_app.conf.task_default_queue}
    for route in (current_app.conf.task_routes or {}).values():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(names)


def queue_lengths() -> dict[str, int] | None:
    """Messages waiting in each Celery queue, where the broker can tell; None if it cannot
    be reached. Retries waiting for their countdown are held by workers, not counted."""
    try:
        with current_app.connection_for_read() as conn:
            conn.transport_options.update(
                socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
            )
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
            channel = conn.default_channel
            return {name: _queue_length(channel, name) for name in queue_names()}
    except Exception as error:  # the broker is down: the metric is left out, not made up
        logger.warning("metrics: the broker did not tell its queue lengths (%s)", error)
        return None


def _queue_length(channel, name: str) -> int:
    from kombu.exceptions import ChannelError

    try:
        return channel.queue_declare(queue=name, passive=True).message_count
    except ChannelError:
        return 0  # never declared: nothing was ever queued there


class DatabaseCollector(Collector):
    """The gauges, computed when collected (one scrape)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        yield from _connection_gauges(connections_by_status(now=now), now=now)
        pushes = GaugeMetricFamily(
            "scheduleonce_pushes", "Calendar pushes not done, by state.", labels=["state"]
        )
        for state, count in pushes_by_state().items():
            pushes.add_metric([state], count)
        yield pushes
        yield GaugeMetricFamily(
            "scheduleonce_busy_sync_lag_seconds",
            "Age of the stalest busy time that some booking page reads.",
            value=busy_sync_lag_seconds(now=now),
        )
        lengths = queue_lengths()
        if lengths is not None:
            queue = GaugeMetricFamily(
                "scheduleonce_celery_queue_length",
                "Tasks waiting in the broker for a worker.",
                labels=["queue"],
            )
            for name, length in lengths.items():
                queue.add_metric([name], length)
            yield queue
        subscriptions = GaugeMetricFamily(
            "scheduleonce_subscriptions",
            "Change notifications of the accounts synced for busy time, by state.",
            labels=["state"],
        )
        for state, count in subscriptions_by_state(now=now).items():
            subscriptions.add_metric([state], count)
        yield subscriptions


def _connection_gauges(counts: dict, *, now: datetime) -> Iterator[GaugeMetricFamily]:
    connections = GaugeMetricFamily(
        "scheduleonce_calendar_connections",
        "Calendar connections: connected, expiring (connected, inside the expiry warning "
        "window) and disconnected; each connection is counted once.",
        labels=["status"],
    )
    for status in ("connected", "expiring", "disconnected"):
        connections.add_metric([status], counts[status])
    yield connections
    if counts["next_expiry"] is not None:
        yield GaugeMetricFamily(
            "scheduleonce_calendar_connection_next_expiry_seconds",
            "Seconds until the soonest sign-in of a connected account expires.",
            value=(counts["next_expiry"] - now).total_seconds(),
        )
