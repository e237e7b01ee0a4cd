"""One scrape: the counters of every process plus the gauges read now."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ops.metrics_gauges import DatabaseCollector
from ops.metrics_store import dead_processes_fold, files_collector


def metrics_scrape() -> tuple[bytes, str]:
    """The Prometheus text answer and its content type."""
    dead_processes_fold()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(files_collector())
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
