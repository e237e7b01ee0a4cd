"""The delivery log: every validation request, every POST of notifications, every drop.

Outcomes:

- ``validated`` / ``refused``: a validation handshake passed or failed;
- ``delivered``: the app answered 2xx within 3 seconds;
- ``failed``: it did not (another attempt follows, with back-off);
- ``dropped``: the sandbox gave up on notifications (4 hours of failures, the
  subscription expired or was removed, a reauthorization was overdue, or the
  ``drop`` control); nothing was sent.
"""

from __future__ import annotations

from django.utils import timezone

from graph_sandbox import store
from graph_sandbox.clock import sandbox_now
from graph_sandbox.models import DeliveryLogEntry

KEEP = 5_000  # entries kept; older ones are pruned now and then
OUTCOMES = ("validated", "refused", "delivered", "failed", "dropped")


def record(
    *,
    kind: str,
    url: str,
    subscription_ids: list[str],
    mailboxes: list[str],
    outcome: str,
    body: str = "",
    status: int | None = None,
    detail: str = "",
    latency_ms: float | None = None,
    age_ms: float | None = None,
) -> DeliveryLogEntry:
    with store.writing():
        entry = DeliveryLogEntry.objects.create(
            at=timezone.now(),
            sandbox_at=sandbox_now(),
            kind=kind,
            url=url[:2000],
            subscription_ids=sorted(set(subscription_ids)),
            mailboxes=sorted(set(mailboxes)),
            body=body,
            status=status,
            outcome=outcome,
            detail=detail[:300],
            latency_ms=latency_ms,
            age_ms=age_ms,
        )
        if entry.pk % 500 == 0:
            DeliveryLogEntry.objects.filter(pk__lte=entry.pk - KEEP).delete()
    return entry


def read(
    *, after_id: int = 0, url_prefix: str = "", subscription_id: str = ""
) -> list[DeliveryLogEntry]:
    """Entries after ``after_id``, oldest first (optionally for one URL prefix or subscription)."""
    rows = DeliveryLogEntry.objects.filter(pk__gt=after_id)
    if url_prefix:
        rows = rows.filter(url__startswith=url_prefix)
    entries = list(rows.order_by("id"))
    if subscription_id:
        entries = [e for e in entries if subscription_id in e.subscription_ids]
    return entries
