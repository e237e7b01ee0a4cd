"""The log of calls to the TLS endpoints (method, path, status, latency, fault)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from graph_sandbox import store
from graph_sandbox.models import RequestLogEntry

KEEP = 20_000  # entries kept; older ones are pruned now and then


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str
    status: int | None  # None: the connection was dropped
    latency_ms: float
    mailbox: str
    client_id: str
    fault: str
    request_id: str


def request_log_write(call: Call) -> None:
    with store.writing(log_line=True):  # with the call's event, if one is held open
        entry = RequestLogEntry.objects.create(
            at=timezone.now(),
            method=call.method[:10],
            path=call.path[:500],
            query=call.query[:1000],
            status=call.status,
            latency_ms=call.latency_ms,
            mailbox=call.mailbox[:254],
            client_id=call.client_id[:64],
            fault=call.fault[:20],
            request_id=call.request_id,
        )
        if entry.pk % 1000 == 0:
            RequestLogEntry.objects.filter(pk__lte=entry.pk - KEEP).delete()


def request_log_read(*, after_id: int = 0, path_prefix: str = "") -> list[RequestLogEntry]:
    """Entries after ``after_id`` (oldest first), optionally only paths starting with a prefix."""
    rows = RequestLogEntry.objects.filter(pk__gt=after_id)
    if path_prefix:
        rows = rows.filter(path__startswith=path_prefix)
    return list(rows.order_by("id"))
