"""The JSON Graph sends and answers: subscriptions, change and lifecycle notifications."""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest

from graph_sandbox.graph.odata import context_url
from graph_sandbox.models import Event, Mailbox, Subscription


def odata_instant(instant: datetime) -> str:
    """``2026-01-05T09:00:00Z`` or ``2026-01-05T09:00:00.25Z``: UTC, no trailing zeros.

    How Graph writes a subscription's ``expirationDateTime``.
    """
    text = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def subscription_json(
    subscription: Subscription, *, request: HttpRequest | None = None, with_client_state=True
) -> dict:
    """A subscription as Graph answers it (``clientState`` is left out of lists)."""
    data = {}
    if request is not None:
        data["@odata.context"] = context_url(request, "subscriptions/$entity")
    data.update(
        {
            "id": subscription.graph_id,
            "resource": subscription.resource,
            "applicationId": subscription.app.client_id,
            "changeType": subscription.change_type,
            "clientState": subscription.client_state if with_client_state else None,
            "notificationUrl": subscription.notification_url,
            "notificationQueryOptions": subscription.echoed.get("notificationQueryOptions"),
            "lifecycleNotificationUrl": subscription.lifecycle_notification_url or None,
            "expirationDateTime": odata_instant(subscription.expires_at),
            "creatorId": str(subscription.mailbox.object_id),
            "includeResourceData": subscription.include_resource_data,
            "latestSupportedTlsVersion": subscription.latest_supported_tls_version,
            "encryptionCertificate": subscription.echoed.get("encryptionCertificate"),
            "encryptionCertificateId": subscription.echoed.get("encryptionCertificateId"),
            "notificationUrlAppId": subscription.echoed.get("notificationUrlAppId"),
        }
    )
    return data


def event_path(mailbox: Mailbox, event: Event) -> str:
    """How Outlook names an event in a notification: ``Users/{oid}/Events/{id}``."""
    return f"Users/{mailbox.object_id}/Events/{event.graph_id}"


def change_item(subscription: Subscription, event: Event, change_type: str) -> dict:
    """One change notification (a basic one: the event's id, no resource data)."""
    path = event_path(subscription.mailbox, event)
    return {
        "subscriptionId": subscription.graph_id,
        "subscriptionExpirationDateTime": odata_instant(subscription.expires_at),
        "changeType": change_type,
        "resource": path,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": path,
            "@odata.etag": f'W/"{event.change_key}"',
            "id": event.graph_id,
        },
        "clientState": subscription.client_state,
        "tenantId": str(subscription.mailbox.tenant.tenant_id),
    }


def lifecycle_item(subscription: Subscription, lifecycle_event: str) -> dict:
    """One lifecycle notification: about the subscription, not about a resource."""
    return {
        "subscriptionId": subscription.graph_id,
        "subscriptionExpirationDateTime": odata_instant(subscription.expires_at),
        "tenantId": str(subscription.mailbox.tenant.tenant_id),
        "clientState": subscription.client_state,
        "lifecycleEvent": lifecycle_event,
    }
