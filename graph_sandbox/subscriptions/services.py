"""Subscriptions: creating, renewing, reauthorizing and deleting them, as Graph does.

- A subscription belongs to the app and the signed-in user that created it;
  anyone else gets 404 for it, as for one that does not exist.
- ``expirationDateTime`` may be at most the lifetime cap ahead (sandbox setting,
  4,230 minutes by default); an expiry under 45 minutes ahead is lengthened to
  45 minutes; one in the past is refused.
- A mailbox holds at most 1,000 live subscriptions, whatever the app.
- Both URLs are validated (``validation``) before anything is stored.
- An expired subscription is gone: it is not listed, cannot be renewed and
  notifies nobody.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from graph_sandbox import store
from graph_sandbox.clock import sandbox_now
from graph_sandbox.graph.auth import Caller
from graph_sandbox.graph.errors import GraphError
from graph_sandbox.models import (
    AppRegistration,
    Calendar,
    Mailbox,
    Notification,
    NotificationKind,
    Subscription,
)
from graph_sandbox.subscriptions import outbox
from graph_sandbox.subscriptions.http import require_notification_url
from graph_sandbox.subscriptions.resources import watched_resource
from graph_sandbox.subscriptions.validation import validate_endpoint

MINIMUM_LIFETIME = timedelta(minutes=45)
# How long changes still flow after a reauthorizationRequired challenge (sandbox's choice:
# Microsoft says only that delivery "eventually" pauses).
REAUTHORIZATION_GRACE = timedelta(minutes=10)
MAILBOX_LIMIT = 1000
CLIENT_STATE_MAX = 128
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
ECHOED = ("notificationQueryOptions", "encryptionCertificate", "encryptionCertificateId")
READ_ONLY = ("id", "applicationId", "creatorId", "notificationUrlAppId", "notificationContentType")
CREATE_PROPERTIES = frozenset(
    {
        "changeType",
        "notificationUrl",
        "lifecycleNotificationUrl",
        "resource",
        "expirationDateTime",
        "clientState",
        "latestSupportedTlsVersion",
        "includeResourceData",
        *ECHOED,
        *READ_ONLY,
    }
)
# expirationDateTime's pattern in Microsoft's OpenAPI description of subscription.
DATE_TIME_OFFSET = re.compile(
    r"^[0-9]{4,}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"[0-5][0-9]([.][0-9]{1,12})?(Z|[+-][0-9][0-9]:[0-9][0-9])$"
)
BAD_PAYLOAD = (
    "Could not process subscription creation payload. Are all property names spelled and "
    "camelCased properly?"
)


@dataclass(frozen=True)
class NewSubscription:
    """A create request, read and checked; nothing stored yet."""

    resource: str
    change_type: str
    notification_url: str
    lifecycle_notification_url: str
    expires_at: datetime
    client_state: str | None
    tls_version: str
    include_resource_data: bool | None
    echoed: dict


# --- selectors -------------------------------------------------------------------------


def subscriptions_of(*, caller: Caller) -> list[Subscription]:
    """The live subscriptions this app created for the signed-in user, oldest first."""
    return list(
        Subscription.objects.filter(
            app=caller.app, mailbox=caller.mailbox, expires_at__gt=sandbox_now()
        )
        .select_related("app", "mailbox__tenant")
        .order_by("created_at", "id")
    )


def subscription_for(*, caller: Caller, subscription_id: str) -> Subscription:
    """One of the caller's live subscriptions; Graph's 404 for any other id."""
    found = (
        Subscription.objects.select_related("app", "mailbox__tenant")
        .filter(
            graph_id=subscription_id,
            app=caller.app,
            mailbox=caller.mailbox,
            expires_at__gt=sandbox_now(),
        )
        .first()
    )
    if found is None:
        raise GraphError(404, "ResourceNotFound", "The object was not found.")
    return found


def lifetime_cap_minutes() -> int:
    """The longest lifetime granted, in minutes (a control can override the setting)."""
    return store.state().subscription_max_minutes or settings.GRAPH_SANDBOX_SUBSCRIPTION_MAX_MINUTES


# --- services --------------------------------------------------------------------------


def subscription_create(*, caller: Caller, body: dict) -> Subscription:
    """``POST /subscriptions``: check, validate both URLs, then store (201)."""
    asked = _read_create_body(body)
    watched = watched_resource(resource=asked.resource, caller_mailbox=caller.mailbox)
    _require_room(watched.mailbox)
    graph_id = str(uuid.uuid4())
    address = watched.mailbox.address
    validate_endpoint(asked.notification_url, subscription_id=graph_id, mailbox=address)
    if asked.lifecycle_notification_url:
        validate_endpoint(
            asked.lifecycle_notification_url, subscription_id=graph_id, mailbox=address
        )
    with store.writing():
        _require_room(watched.mailbox)
        return Subscription.objects.create(
            graph_id=graph_id,
            app=caller.app,
            mailbox=watched.mailbox,
            calendar=watched.calendar,
            resource=asked.resource,
            change_type=asked.change_type,
            notification_url=asked.notification_url,
            lifecycle_notification_url=asked.lifecycle_notification_url,
            client_state=asked.client_state,
            latest_supported_tls_version=asked.tls_version,
            include_resource_data=asked.include_resource_data,
            echoed=asked.echoed,
            created_at=sandbox_now(),
            expires_at=asked.expires_at,
        )


def subscription_update(*, subscription: Subscription, body: dict) -> Subscription:
    """``PATCH /subscriptions/{id}``: renew (``expirationDateTime``), move (``notificationUrl``).

    Renewing also reauthorizes. A new notificationUrl is validated first.
    ``lifecycleNotificationUrl`` can only be set when a subscription is created.
    """
    changes = _read_update_body(body)
    if "notification_url" in changes:
        validate_endpoint(
            changes["notification_url"],
            subscription_id=subscription.graph_id,
            mailbox=subscription.mailbox.address,
        )
    with store.writing():
        for name, value in changes.items():
            setattr(subscription, name, value)
        if "expires_at" in changes:
            subscription.reauthorize_by = None
            subscription.expiry_reminded_at = None
        subscription.save()
    return subscription


def subscription_reauthorize(*, subscription: Subscription) -> None:
    """``POST /subscriptions/{id}/reauthorize``: answer a reauthorizationRequired challenge."""
    with store.writing():
        Subscription.objects.filter(pk=subscription.pk).update(reauthorize_by=None)


def subscription_delete(*, subscription: Subscription) -> None:
    """``DELETE /subscriptions/{id}``: no more notifications, and none still waiting."""
    with store.writing():
        _forget(subscription)


def subscription_remove(*, subscription: Subscription) -> None:
    """Microsoft removes a subscription: ``subscriptionRemoved`` goes to its lifecycle URL."""
    with store.writing():
        outbox.lifecycle_enqueue(subscription=subscription, lifecycle_event="subscriptionRemoved")
        _forget(subscription)


def subscriptions_of_calendar_remove(*, calendar: Calendar) -> None:
    """The calendar a subscription watches is deleted: the subscription is removed with it."""
    for subscription in Subscription.objects.filter(calendar=calendar).select_related(
        "app", "mailbox__tenant"
    ):
        subscription_remove(subscription=subscription)


def reauthorization_demand(*, subscription: Subscription, grace: timedelta) -> bool:
    """Send ``reauthorizationRequired``; changes are lost once ``grace`` passes without an answer.

    Returns False when the subscription has no lifecycleNotificationUrl (nothing sent,
    nothing paused: Graph can only ask apps that listen).
    """
    with store.writing():
        if not outbox.lifecycle_enqueue(
            subscription=subscription, lifecycle_event="reauthorizationRequired"
        ):
            return False
        deadline = sandbox_now() + grace
        Subscription.objects.filter(pk=subscription.pk, reauthorize_by__isnull=True).update(
            reauthorize_by=deadline
        )
    return True


def reauthorization_demand_after_revocation(
    *, mailbox: Mailbox, app: AppRegistration | None = None
) -> int:
    """Grants were revoked: every live subscription of the mailbox (one app's, or all)
    is challenged with ``reauthorizationRequired``. Returns how many were asked."""
    live = Subscription.objects.filter(mailbox=mailbox, expires_at__gt=sandbox_now())
    if app is not None:
        live = live.filter(app=app)
    return sum(
        reauthorization_demand(subscription=s, grace=REAUTHORIZATION_GRACE)
        for s in live.select_related("app", "mailbox__tenant")
    )


def _forget(subscription: Subscription) -> None:
    Notification.objects.filter(
        subscription_id=subscription.graph_id, kind=NotificationKind.CHANGE
    ).delete()
    Subscription.objects.filter(pk=subscription.pk).delete()


def _require_room(mailbox: Mailbox) -> None:
    live = Subscription.objects.filter(mailbox=mailbox, expires_at__gt=sandbox_now()).count()
    if live >= MAILBOX_LIMIT:
        raise GraphError(
            403,
            "ExtensionError",
            "Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of "
            "subscriptions has been reached]",
        )


# --- reading request bodies ---------------------------------------------------------------


def _read_create_body(body: dict) -> NewSubscription:
    unknown = [k for k in body if not k.startswith("@") and k not in CREATE_PROPERTIES]
    if unknown:
        raise GraphError(400, "InvalidRequest", BAD_PAYLOAD)
    for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
        if body.get(name) in (None, ""):
            raise GraphError(
                400, "InvalidRequest", f"{name} is a required property for subscription creation"
            )
    if body.get("includeResourceData") is True:
        raise GraphError(
            400,
            "InvalidRequest",
            "The Graph sandbox does not send change notifications with resource data "
            "(includeResourceData).",
        )
    return NewSubscription(
        resource=_string(body, "resource"),
        change_type=_change_type(body["changeType"]),
        notification_url=require_notification_url(body["notificationUrl"]),
        lifecycle_notification_url=_lifecycle_url(body.get("lifecycleNotificationUrl")),
        expires_at=_expiry(body["expirationDateTime"]),
        client_state=_client_state(body.get("clientState")),
        tls_version=_tls_version(body.get("latestSupportedTlsVersion")),
        include_resource_data=_optional_bool(body, "includeResourceData"),
        echoed={k: _string(body, k) for k in ECHOED if body.get(k) is not None},
    )


def _read_update_body(body: dict) -> dict:
    if "lifecycleNotificationUrl" in body:
        raise GraphError(
            400,
            "InvalidRequest",
            "lifecycleNotificationUrl can only be set when the subscription is created.",
        )
    other = [
        k
        for k in body
        if not k.startswith("@") and k not in ("expirationDateTime", "notificationUrl")
    ]
    if other:
        raise GraphError(
            400,
            "InvalidRequest",
            "Only expirationDateTime and notificationUrl of a subscription can be updated, "
            f"not {', '.join(sorted(other))}.",
        )
    changes: dict = {}
    if body.get("expirationDateTime") not in (None, ""):
        changes["expires_at"] = _expiry(body["expirationDateTime"])
    if body.get("notificationUrl") not in (None, ""):
        changes["notification_url"] = require_notification_url(body["notificationUrl"])
    if not changes:
        raise GraphError(
            400,
            "InvalidRequest",
            "Subscription must contain either the 'expirationDateTime' or 'notificationUrl' "
            "property and its value.",
        )
    return changes


def _string(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise GraphError(400, "InvalidRequest", BAD_PAYLOAD)
    return value


def _change_type(value: object) -> str:
    if not isinstance(value, str):
        raise GraphError(400, "InvalidRequest", BAD_PAYLOAD)
    for part in value.split(","):
        if part.strip() not in outbox.CHANGE_TYPES:
            raise GraphError(400, "InvalidRequest", f"Invalid 'changeType' attribute: '{part}'.")
    return value


def _lifecycle_url(value: object) -> str:
    if value in (None, ""):
        return ""
    return require_notification_url(value, name="LifecycleNotificationUrl")


def _client_state(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise GraphError(400, "InvalidRequest", BAD_PAYLOAD)
    if len(value) > CLIENT_STATE_MAX:
        raise GraphError(
            400,
            "InvalidRequest",
            f"clientState can be at most {CLIENT_STATE_MAX} characters long.",
        )
    return value


def _tls_version(value: object) -> str:
    if value in (None, ""):
        return "v1_2"
    if value not in TLS_VERSIONS:
        raise GraphError(400, "InvalidRequest", BAD_PAYLOAD)
    return value


def _optional_bool(body: dict, name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise GraphError(400, "InvalidRequest", BAD_PAYLOAD)
    return value


def _expiry(value: object) -> datetime:
    """The expiry a request asks for, as Graph grants it (see the module docstring)."""
    asked = _instant_with_offset(value)
    now = sandbox_now()
    if asked <= now:
        raise GraphError(400, "InvalidRequest", "Subscription expiration must be in the future.")
    cap = lifetime_cap_minutes()
    if asked - now > timedelta(minutes=cap):
        raise GraphError(
            400,
            "ExtensionError",
            f"Subscription expiration can only be {cap} minutes in the future.",
        )
    return max(asked, now + MINIMUM_LIFETIME)


def _instant_with_offset(value: object) -> datetime:
    """An instant in the OpenAPI description's format: ISO 8601 with ``Z`` or an offset."""
    if not isinstance(value, str) or not DATE_TIME_OFFSET.match(value):
        raise GraphError(400, "InvalidRequest", BAD_PAYLOAD)
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        raise GraphError(400, "InvalidRequest", BAD_PAYLOAD)
