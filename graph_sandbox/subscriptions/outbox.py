"""Queue notifications: every change to an event, and lifecycle events.

``change_record`` is called by every service that changes an event (Graph
calls, the people page, test controls, seeding), inside the write transaction,
so a change and its notifications are stored together and a rolled-back change
notifies nobody. The delivery thread is woken once the transaction commits;
a delivery thread in another process finds the rows on its next poll.

The delivery controls (``DeliveryRule``) act here: a notification can be
dropped, delayed, duplicated or held back so that a later one overtakes it.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from graph_sandbox import faults
from graph_sandbox.clock import sandbox_now
from graph_sandbox.models import (
    DeliveryRule,
    DeliveryTarget,
    Event,
    Notification,
    NotificationKind,
    NotificationState,
    Subscription,
)
from graph_sandbox.router import DB
from graph_sandbox.subscriptions import deliverylog
from graph_sandbox.subscriptions.payloads import change_item, lifecycle_item
from ops.compiled_inserts import insert_rows
from ops.compiled_queries import query_objects, reads

CHANGE_TYPES = ("created", "updated", "deleted")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
CONTROL_KINDS = ("drop", "delay", "duplicate", "reorder")

# Set when notifications were queued in this process; the delivery thread waits on it.
WAKE = threading.Event()


def change_record(*, event: Event, change_type: str) -> int:
    """Queue ``change_type`` of ``event`` for every live subscription covering it.

    Call inside ``store.writing()``, after the change is saved. Returns how many
    notifications were queued.
    """
    now = sandbox_now()
    queued = 0
    for subscription in _covering(event, now):
        if change_type not in subscription.change_types:
            continue
        item = change_item(subscription, event, change_type)
        if subscription.reauthorize_by is not None and subscription.reauthorize_by <= now:
            deliverylog.record(
                kind=NotificationKind.CHANGE,
                url=subscription.notification_url,
                subscription_ids=[subscription.graph_id],
                mailboxes=[subscription.mailbox.address],
                body=json.dumps({"value": [item]}),
                outcome="dropped",
                detail="reauthorization overdue: changes are lost until the app reauthorizes",
            )
            continue
        queued += _enqueue(
            subscription_id=subscription.graph_id,
            mailbox=subscription.mailbox.address,
            kind=NotificationKind.CHANGE,
            url=subscription.notification_url,
            item=item,
            now=now,
        )
    return queued


def lifecycle_enqueue(*, subscription: Subscription, lifecycle_event: str) -> bool:
    """Queue a lifecycle notification, if the subscription has a lifecycleNotificationUrl.

    A ``missed`` notification already waiting for the subscription is not queued twice.
    Call inside ``store.writing()``.
    """
    if lifecycle_event not in LIFECYCLE_EVENTS:
        raise ValueError(f"lifecycleEvent must be one of {LIFECYCLE_EVENTS}")
    if not subscription.lifecycle_notification_url:
        return False
    if lifecycle_event == "missed" and _missed_waiting(subscription.graph_id):
        return False
    return bool(
        _enqueue(
            subscription_id=subscription.graph_id,
            mailbox=subscription.mailbox.address,
            kind=NotificationKind.LIFECYCLE,
            url=subscription.lifecycle_notification_url,
            item=lifecycle_item(subscription, lifecycle_event),
            now=sandbox_now(),
        )
    )


def _covering(event: Event, now: datetime) -> list[Subscription]:
    calendar = event.calendar
    # Every change of every event asks: compiled once.
    return query_objects(_live_subscriptions, calendar.owner_id, now, calendar.pk)


@reads(Subscription)
def _live_subscriptions(owner_id: int, now: datetime, calendar_id: int) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(mailbox_id=owner_id, expires_at__gt=now)
        .filter(Q(calendar__isnull=True) | Q(calendar_id=calendar_id))
        .select_related("mailbox__tenant", "app")
    )


def _missed_waiting(subscription_id: str) -> bool:
    waiting = Notification.objects.filter(
        subscription_id=subscription_id, kind=NotificationKind.LIFECYCLE
    ).values_list("item", flat=True)
    return any(item.get("lifecycleEvent") == "missed" for item in waiting)


def _enqueue(
    *, subscription_id: str, mailbox: str, kind: str, url: str, item: dict, now: datetime
) -> int:
    """Store one notification (two when duplicated, none when dropped); returns how many."""
    rule, action = _control(subscription_id, kind)
    if action == "drop":
        deliverylog.record(
            kind=kind,
            url=url,
            subscription_ids=[subscription_id],
            mailboxes=[mailbox],
            body=json.dumps({"value": [item]}),
            outcome="dropped",
            detail="dropped by the drop control",
        )
        return 0
    delay = timedelta(seconds=rule.delay_seconds) if rule else timedelta(0)
    real_now = timezone.now()

    def row(*, due: datetime) -> Notification:
        return Notification(
            subscription_id=subscription_id,
            mailbox=mailbox,
            kind=kind,
            url=url,
            item=item,
            enqueued_at=now,
            enqueued_real=real_now,
            next_attempt_at=due,
        )

    rows = [row(due=now + delay if action == "delay" else now)]
    if action == "reorder":
        rows[0].state, rows[0].hold_until = NotificationState.HELD, now + delay
    if action == "duplicate":
        rows.append(row(due=now + delay))
    insert_rows(rows)  # bulk_create's INSERT, compiled once per number of rows
    transaction.on_commit(WAKE.set, using=DB)
    return len(rows)


@reads(DeliveryRule)
def _delivery_rules(kind: str, subscription_id: str) -> QuerySet[DeliveryRule]:
    rules = DeliveryRule.objects.filter(applies_to__in=(kind, DeliveryTarget.ALL))
    rules = rules.filter(Q(subscription_id="") | Q(subscription_id=subscription_id))
    return rules.order_by("id")


def _control(subscription_id: str, kind: str) -> tuple[DeliveryRule | None, str]:
    """The first delivery rule that strikes this notification, and what it does."""
    for rule in query_objects(_delivery_rules, subscription_id, fixed=(kind,)):
        if rule.kinds and faults.fires(rule):
            return rule, faults.pick_kind(rule)
    return None, ""
