"""One scrape: the counters of every process plus the gauges read now; and who may ask."""

from __future__ import annotations

from django.conf import settings
from django.utils.crypto import constant_time_compare
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ops.metrics_gauges import DatabaseCollector
from ops.metrics_store import dead_processes_fold, files_collector

LOOPBACK = frozenset({"127.0.0.1", "::1"})
METRICS_TOKEN_NEEDED = "A valid metrics token is needed.\n"


def metrics_refusal(*, authorization: str, remote_addr: str) -> int | None:
    """None when the asker may read the metrics, else the status to answer.

    With ``METRICS_TOKEN`` set: only ``Authorization: Bearer <token>`` (401 otherwise).
    Unset: 404, except for local runs (``DEBUG``) asked from this machine (loopback).
    """
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and constant_time_compare(given.strip(), token):
            return None
        return 401
    if settings.DEBUG and remote_addr in LOOPBACK:
        return None
    return 404


def metrics_scrape(*, gauges: bool = True) -> tuple[bytes, str]:
    """The Prometheus text answer and its content type (``gauges=False``: counters only)."""
    dead_processes_fold()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(files_collector())
    if gauges:
        registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
