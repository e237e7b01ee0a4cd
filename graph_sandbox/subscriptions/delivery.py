"""The delivery thread: POST queued notifications to the apps, as Graph does.

It runs in the sandbox server's process (``run_graph_sandbox``, or the test
fixture), never in a request. Each round it:

1. tidies up (``housekeeping``): expired subscriptions are deleted and their
   waiting change notifications dropped; subscriptions close to expiry get a
   ``reauthorizationRequired`` lifecycle notification (60 minutes ahead, then
   every 15 minutes);
2. drops notifications that have failed for 4 hours (their subscription gets a
   ``missed`` lifecycle notification), claims those that are due (sandbox
   clock), oldest first, and POSTs them in batches: everything waiting for one
   URL goes in one ``{"value": [...]}`` (at most ``MAX_BATCH``), one batch per
   URL at a time;
3. an answer other than 2xx within 3 seconds is a failure: the batch is tried
   again after 10 s, 30 s, 1, 2, 5 and then every 10 minutes (sandbox clock),
   until 4 hours after the change.

Changes made in this process wake it at once; changes made by another process
on the same store (the web server's people page) are found within ``POLL_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta

import requests
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from graph_sandbox import store
from graph_sandbox.clock import sandbox_now
from graph_sandbox.models import (
    Notification,
    NotificationKind,
    NotificationState,
    Subscription,
)
from graph_sandbox.subscriptions import deliverylog, outbox
from graph_sandbox.subscriptions.http import session

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
BATCH_WINDOW_SECONDS = 0.05  # after a wake-up, changes made together go in one POST
HOUSEKEEPING_SECONDS = 0.5
ACK_TIMEOUT_SECONDS = 3.0
RETRY_WINDOW = timedelta(hours=4)
BACKOFF_SECONDS = (10, 30, 60, 120, 300, 600)  # then every 600 s
MAX_BATCH = 100
LEASE = timedelta(seconds=60)  # real time a claimed batch may take before it is retried
REMINDER_BEFORE = timedelta(minutes=60)
REMINDER_EVERY = timedelta(minutes=15)


def backoff(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failure a notification is tried again."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


class DeliveryThread:
    """Start once per sandbox server process; ``stop()`` waits for it to finish.

    ``active=False`` starts it idle until ``activate()``: the test fixture lets it
    touch the store only while a test that uses the sandbox runs.
    """

    def __init__(self, *, active: bool = True) -> None:
        self._stop = threading.Event()
        self._active = threading.Event()
        if active:
            self._active.set()
        self._round_lock = threading.Lock()
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._senders: list[threading.Thread] = []
        self._last_housekeeping = 0.0
        self._thread = threading.Thread(
            target=self._run, name="graph-sandbox-delivery", daemon=True
        )

    def start(self) -> DeliveryThread:
        self._thread.start()
        return self

    def activate(self) -> None:
        self._active.set()
        outbox.WAKE.set()

    def deactivate(self) -> None:
        """Stop sending and wait until nothing is in flight (rounds and POSTs)."""
        self._active.clear()
        with self._round_lock:
            pass
        self._join_senders()

    def stop(self) -> None:
        self._stop.set()
        self._active.set()
        outbox.WAKE.set()
        self._thread.join(10)
        self._join_senders()

    def _join_senders(self) -> None:
        for sender in list(self._senders):
            sender.join(ACK_TIMEOUT_SECONDS + 2)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self._active.wait(POLL_SECONDS):
                    continue
                if outbox.WAKE.wait(POLL_SECONDS):
                    outbox.WAKE.clear()
                    time.sleep(BATCH_WINDOW_SECONDS)
                with self._round_lock:
                    if self._stop.is_set() or not self._active.is_set():
                        continue
                    try:
                        self.round()
                    except Exception:
                        # A locked or missing store, or a bug: keep the thread alive.
                        logger.exception("notification delivery round failed; trying again")
                        time.sleep(1)
        finally:
            connections.close_all()

    def round(self) -> None:
        """One round: housekeeping now and then, then send what is due."""
        if store.state().delivery_paused:
            return
        now = sandbox_now()
        if time.monotonic() - self._last_housekeeping >= HOUSEKEEPING_SECONDS:
            self._last_housekeeping = time.monotonic()
            housekeeping(now=now)
        with self._busy_lock:
            busy = set(self._busy)
        for url, rows in claim_due(now=now, busy_urls=busy).items():
            self._send_in_background(url, rows)

    def _send_in_background(self, url: str, rows: list[Notification]) -> None:
        with self._busy_lock:
            self._busy.add(url)
        sender = threading.Thread(target=self._send, args=(url, rows), daemon=True)
        self._senders = [s for s in self._senders if s.is_alive()] + [sender]
        sender.start()

    def _send(self, url: str, rows: list[Notification]) -> None:
        try:
            post_batch(url=url, rows=rows)
        except Exception:
            logger.exception("notification delivery to %s: could not record the outcome", url)
        finally:
            with self._busy_lock:
                self._busy.discard(url)
            connections.close_all()
            outbox.WAKE.set()  # more may be waiting for this URL


# --- one round's work ---------------------------------------------------------------------


def housekeeping(*, now: datetime) -> None:
    _delete_expired(now)
    _remind_before_expiry(now)


def claim_due(*, now: datetime, busy_urls: set[str]) -> dict[str, list[Notification]]:
    """Due notifications grouped by URL (oldest first), marked as being sent.

    Those that have failed for 4 hours are dropped first (the clock may have jumped).
    """
    if not Notification.objects.exists():
        return {}  # the usual case: no write transaction every round for nothing
    real_now = timezone.now()
    _drop_overdue(now)
    with store.writing():
        Notification.objects.filter(state=NotificationState.HELD, hold_until__lte=now).update(
            state=NotificationState.PENDING
        )
        Notification.objects.filter(
            state=NotificationState.SENDING, claimed_until__lt=real_now
        ).update(state=NotificationState.PENDING)
        due = list(
            Notification.objects.filter(state=NotificationState.PENDING, next_attempt_at__lte=now)
            .exclude(url__in=busy_urls)
            .order_by("id")[: MAX_BATCH * 10]
        )
        batches: OrderedDict[str, list[Notification]] = OrderedDict()
        for row in _without_dead_subscriptions(due, now):
            batch = batches.setdefault(row.url, [])
            if len(batch) < MAX_BATCH:
                batch.append(row)
        claimed = [row.pk for batch in batches.values() for row in batch]
        Notification.objects.filter(pk__in=claimed).update(
            state=NotificationState.SENDING, claimed_until=real_now + LEASE
        )
    return batches


def post_batch(*, url: str, rows: list[Notification]) -> bool:
    """POST one batch and record what happened; True when the app took it (2xx in time)."""
    body = json.dumps({"value": [row.item for row in rows]})
    oldest = min(row.enqueued_real for row in rows)
    age_ms = (timezone.now() - oldest).total_seconds() * 1000
    started = time.monotonic()
    status, detail = None, ""
    try:
        answer = session().post(
            url,
            data=body.encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=ACK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status = answer.status_code
        answer.close()
    except requests.Timeout:
        detail = "no answer within 3 seconds"
    except requests.RequestException as exc:
        detail = f"could not reach the endpoint ({type(exc).__name__})"
    latency_ms = (time.monotonic() - started) * 1000
    delivered = status is not None and 200 <= status < 300
    if status is not None and not delivered:
        detail = f"answered {status}"
    kinds = {row.kind for row in rows}
    deliverylog.record(
        kind=kinds.pop() if len(kinds) == 1 else "mixed",
        url=url,
        subscription_ids=[row.subscription_id for row in rows],
        mailboxes=[row.mailbox for row in rows],
        body=body,
        status=status,
        outcome="delivered" if delivered else "failed",
        detail=detail,
        latency_ms=latency_ms,
        age_ms=age_ms,
    )
    if delivered:
        _delivered(url, rows)
    else:
        _failed(rows, detail)
    return delivered


# --- outcomes -------------------------------------------------------------------------------


def _delivered(url: str, rows: list[Notification]) -> None:
    with store.writing():
        Notification.objects.filter(pk__in=[row.pk for row in rows]).delete()
        # The reorder control holds a notification back until a later one has arrived.
        Notification.objects.filter(url=url, state=NotificationState.HELD).update(
            state=NotificationState.PENDING
        )


def _failed(rows: list[Notification], detail: str) -> None:
    now = sandbox_now()
    with store.writing():
        for row in rows:
            attempts = row.attempts + 1
            if now + backoff(attempts) >= row.enqueued_at + RETRY_WINDOW:
                _drop([row], reason=f"still failing 4 hours after the change ({detail})")
                continue
            Notification.objects.filter(pk=row.pk).update(
                state=NotificationState.PENDING,
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                claimed_until=None,
            )


def _drop(rows: list[Notification], *, reason: str, missed: bool = True) -> None:
    """Give up on notifications; a subscription that lost changes is told ``missed``."""
    if not rows:
        return
    with store.writing():
        by_url: dict[str, list[Notification]] = {}
        for row in rows:
            by_url.setdefault(row.url, []).append(row)
        for url, dropped in by_url.items():
            deliverylog.record(
                kind=dropped[0].kind,
                url=url,
                subscription_ids=[row.subscription_id for row in dropped],
                mailboxes=[row.mailbox for row in dropped],
                body=json.dumps({"value": [row.item for row in dropped]}),
                outcome="dropped",
                detail=reason,
            )
        Notification.objects.filter(pk__in=[row.pk for row in rows]).delete()
        if not missed:
            return
        lost = {row.subscription_id for row in rows if row.kind == NotificationKind.CHANGE}
        for subscription in Subscription.objects.filter(graph_id__in=lost).select_related(
            "mailbox__tenant"
        ):
            outbox.lifecycle_enqueue(subscription=subscription, lifecycle_event="missed")


# --- housekeeping ----------------------------------------------------------------------------


def _delete_expired(now: datetime) -> None:
    expired = list(
        Subscription.objects.filter(expires_at__lte=now).values_list("graph_id", flat=True)
    )
    if not expired:
        return
    with store.writing():
        waiting = Notification.objects.filter(
            subscription_id__in=expired, kind=NotificationKind.CHANGE
        )
        _drop(list(waiting), reason="the subscription expired", missed=False)
        Subscription.objects.filter(graph_id__in=expired, expires_at__lte=now).delete()


def _remind_before_expiry(now: datetime) -> None:
    due = Subscription.objects.filter(
        expires_at__gt=now, expires_at__lte=now + REMINDER_BEFORE
    ).exclude(lifecycle_notification_url="")
    due = due.filter(
        Q(expiry_reminded_at__isnull=True) | Q(expiry_reminded_at__lte=now - REMINDER_EVERY)
    ).select_related("mailbox__tenant")
    for subscription in due:
        with store.writing():
            outbox.lifecycle_enqueue(
                subscription=subscription, lifecycle_event="reauthorizationRequired"
            )
            Subscription.objects.filter(pk=subscription.pk).update(expiry_reminded_at=now)


def _drop_overdue(now: datetime) -> None:
    overdue = Notification.objects.filter(
        state=NotificationState.PENDING, attempts__gt=0, enqueued_at__lte=now - RETRY_WINDOW
    )
    _drop(list(overdue), reason="still failing 4 hours after the change")


def _without_dead_subscriptions(rows: list[Notification], now: datetime) -> list[Notification]:
    """Drop change notifications whose subscription expired or was deleted meanwhile."""
    changes = {row.subscription_id for row in rows if row.kind == NotificationKind.CHANGE}
    live = set(
        Subscription.objects.filter(graph_id__in=changes, expires_at__gt=now).values_list(
            "graph_id", flat=True
        )
    )
    dead = [r for r in rows if r.kind == NotificationKind.CHANGE and r.subscription_id not in live]
    _drop(dead, reason="the subscription expired or was deleted", missed=False)
    return [row for row in rows if row not in dead]
