"""The people page's view of change notifications: a mailbox's subscriptions, what was
sent to the apps lately, and the lifecycle events a person can trigger by hand.

``clientState`` is the app's secret: it is never shown here.
"""

from __future__ import annotations

import json
from collections import Counter

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from graph_sandbox import store
from graph_sandbox.clock import sandbox_now
from graph_sandbox.models import DeliveryLogEntry, Mailbox, Subscription
from graph_sandbox.subscriptions import outbox, services

RECENT = 15  # deliveries shown
SCANNED = 500  # log entries looked through for them
# (action, button label): what Microsoft can do to a subscription.
ACTIONS = (
    ("reauthorize", "Ask to reauthorize"),
    ("missed", "Send missed"),
    ("remove", "Remove"),
)


def subscriptions_shown(mailbox: Mailbox) -> list[dict]:
    now = sandbox_now()
    rows = Subscription.objects.filter(mailbox=mailbox, expires_at__gt=now).select_related(
        "app", "calendar"
    )
    return [
        {
            "subscription": s,
            "app": s.app.name,
            "watches": f"the {s.calendar.name} calendar" if s.calendar else "every calendar",
            "changes": ", ".join(t.strip() for t in s.change_type.split(",")),
            "overdue": s.reauthorize_by is not None and s.reauthorize_by <= now,
        }
        for s in rows.order_by("created_at", "id")
    ]


def recent_deliveries(mailbox: Mailbox) -> list[dict]:
    """The latest validations, POSTs and drops for the mailbox's subscriptions (live or not)."""
    shown = []
    for entry in DeliveryLogEntry.objects.order_by("-id")[:SCANNED]:
        if mailbox.address not in entry.mailboxes:
            continue
        shown.append({"entry": entry, "summary": _summary(entry)})
        if len(shown) == RECENT:
            break
    return shown


@require_POST
def subscription_action(
    request: HttpRequest, address: str, subscription_id: str, action: str
) -> HttpResponse:
    """A person plays Microsoft: remove a subscription, or send it a lifecycle notification."""
    subscription = (
        Subscription.objects.select_related("mailbox__tenant", "app")
        .filter(graph_id=subscription_id, mailbox__address__iexact=address)
        .first()
    )
    if subscription is None or action not in dict(ACTIONS):
        raise Http404("No such subscription in this mailbox (it may have expired).")
    if action == "remove":
        services.subscription_remove(subscription=subscription)
    elif action == "reauthorize":
        services.reauthorization_demand(
            subscription=subscription, grace=services.REAUTHORIZATION_GRACE
        )
    else:
        with store.writing():
            outbox.lifecycle_enqueue(subscription=subscription, lifecycle_event="missed")
    url = reverse("graph_sandbox:mailbox", args=[subscription.mailbox.address])
    return redirect(f"{url}?done={action}#notifications")


def _summary(entry: DeliveryLogEntry) -> str:
    if entry.kind == "validation":
        return "Validation request"
    try:
        items = json.loads(entry.body)["value"]
    except (ValueError, KeyError, TypeError):
        return entry.kind
    counts = Counter(item.get("changeType") or item.get("lifecycleEvent") for item in items)
    listed = ", ".join(f"{count} {name}" for name, count in counts.items())
    return f"{entry.kind.capitalize()}: {listed}"
