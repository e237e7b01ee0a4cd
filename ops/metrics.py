"""Counters and histograms that every process (gunicorn worker, Celery worker) adds to.

Values live in memory-mapped files under ``PROMETHEUS_MULTIPROC_DIR``
(prometheus_client's multiprocess mode), one file per process and kind, named
after the host and the process id; ``/metrics`` adds them up (``ops.metrics_store``).
A file outlives its process, so a restart loses no count, and a dead process's
files are folded into one archive file so their number stays small.

Gauges are not here: they are read from the database at scrape time
(``ops.metrics_gauges``), so every web process reports the same values.

Settings set ``PROMETHEUS_MULTIPROC_DIR`` before anything imports this module.
"""

from __future__ import annotations

import os
import re
import socket

from prometheus_client import Counter, Histogram, values

_NOT_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9.-]")


_HOST = _NOT_IN_FILE_NAME.sub("-", socket.gethostname())[:60] or "host"


def process_identifier() -> str:
    """``<host>-<pid>``: unique among processes sharing the directory across containers
    (each container numbers its processes from 1). No underscore: it splits file names.
    Asked on every count (prometheus_client notices a fork by it), so it is cheap."""
    return f"{_HOST}-{os.getpid()}"


# Before any metric exists: every value is a memory-mapped one, named per host and process.
values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)

# What one push attempt came to: the outbox.outcomes.Status values an attempt ends in,
# and "error" for an attempt the database failed under (nothing recorded).
PUSH_RESULTS = ("synced", "retry", "requeue", "failed", "waiting", "lost", "error")
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")

PUSH_ATTEMPTS = Counter(
    "scheduleonce_push_attempts",
    "Calendar push attempts (a worker held the row), by what they came to.",
    ["result"],
)
GRAPH_REQUESTS = Counter(
    "scheduleonce_graph_requests",
    "HTTP requests sent to Microsoft Graph, by status class and whether Graph throttled us.",
    ["status", "throttled"],
)
GRAPH_REQUEST_SECONDS = Histogram(
    "scheduleonce_graph_request_seconds",
    "Time for one HTTP request to Microsoft Graph, answer or failure.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
BOOKINGS = Counter("scheduleonce_bookings", "Bookings made (committed).")
HTTP_REQUEST_SECONDS = Histogram(
    "scheduleonce_http_request_seconds",
    "Time for the web process to answer one request (to the first byte of a streamed "
    "answer), by URL route, method and status class.",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# The methods named as they are; anything else (a scanner's PROPFIND) is "other".
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Series that exist at zero from the first scrape, so rate() and alerts see them start.
for _result in PUSH_RESULTS:
    PUSH_ATTEMPTS.labels(result=_result)
for _status in STATUS_CLASSES:
    GRAPH_REQUESTS.labels(status=_status, throttled="false")
GRAPH_REQUESTS.labels(status="4xx", throttled="true")
GRAPH_REQUESTS.labels(status="5xx", throttled="true")


def status_class(status: int | None) -> str:
    """``2xx`` … ``5xx`` for an HTTP status; ``error`` when no answer came (timeout, reset)."""
    if status is None or not 100 <= status < 600:
        return "error"
    return f"{status // 100}xx"


def graph_request_observe(*, status: int | None, throttled: bool, seconds: float) -> None:
    GRAPH_REQUESTS.labels(status=status_class(status), throttled=str(throttled).lower()).inc()
    GRAPH_REQUEST_SECONDS.observe(seconds)


def push_attempt_count(*, result: str) -> None:
    PUSH_ATTEMPTS.labels(result=result).inc()


def booking_count() -> None:
    BOOKINGS.inc()


def http_request_observe(*, route: str, method: str, status: int, seconds: float) -> None:
    """One answered request. ``route`` is the URL pattern (``book/<str:slug>/``), never
    the path itself, so the number of series stays that of the patterns."""
    method = method if method in HTTP_METHODS else "other"
    HTTP_REQUEST_SECONDS.labels(route=route, method=method, status=status_class(status)).observe(
        seconds
    )
