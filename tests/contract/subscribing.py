"""Helpers for the change-notification contract tests: subscribe, and what a body looks like."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from graph_sandbox import control

SUBSCRIPTION_PROPERTIES = {
    "@odata.context",
    "id",
    "resource",
    "applicationId",
    "changeType",
    "clientState",
    "notificationUrl",
    "notificationQueryOptions",
    "lifecycleNotificationUrl",
    "expirationDateTime",
    "creatorId",
    "includeResourceData",
    "latestSupportedTlsVersion",
    "encryptionCertificate",
    "encryptionCertificateId",
    "notificationUrlAppId",
}
CHANGE_PROPERTIES = {
    "subscriptionId",
    "subscriptionExpirationDateTime",
    "changeType",
    "resource",
    "resourceData",
    "clientState",
    "tenantId",
}
LIFECYCLE_PROPERTIES = {
    "subscriptionId",
    "subscriptionExpirationDateTime",
    "tenantId",
    "clientState",
    "lifecycleEvent",
}
CLIENT_STATE = "a-secret-only-the-app-and-graph-know"


def minutes_ahead(minutes: float) -> str:
    """An ``expirationDateTime`` this many minutes after the sandbox's now (UTC, ``Z``)."""
    moment = control.clock_now() + timedelta(minutes=minutes)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def subscription_body(receiver, **overrides) -> dict:
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": receiver.notification_url,
        "lifecycleNotificationUrl": receiver.lifecycle_url,
        "resource": "/me/events",
        "expirationDateTime": minutes_ahead(4000),
        "clientState": CLIENT_STATE,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def subscribe(graph, receiver, *, as_: str | None = None, **overrides) -> dict:
    """Create a subscription (it must succeed); returns Graph's answer."""
    kwargs = {"as_": as_} if as_ else {}
    response = graph(
        "POST", "/subscriptions", json=subscription_body(receiver, **overrides), **kwargs
    )
    assert response.status_code == 201, response.text
    return response.json()
