"""Outgoing webhook endpoints and their deliveries, and personal access tokens for the API.

Secrets are never stored in the clear: a webhook endpoint's signing secret is
encrypted with the token encryption keys (``calendars.crypto``), because every
delivery needs it back; an API token is stored as its SHA-256 only, because it is
only ever compared.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outbox.models import OutboxItem


class EventType(models.TextChoices):
    BOOKING_CREATED = "booking.created", _("Booking created")
    BOOKING_RESCHEDULED = "booking.rescheduled", _("Booking rescheduled")
    BOOKING_CANCELLED = "booking.cancelled", _("Booking cancelled")
    # The calendar made the booking's Teams meeting (or a new one): its join_url, once per link.
    BOOKING_MEETING_LINK_READY = "booking.meeting_link_ready", _("Online meeting link ready")
    CALENDAR_DISCONNECTED = "calendar.disconnected", _("Calendar disconnected")
    CALENDAR_RECONNECTED = "calendar.reconnected", _("Calendar reconnected")
    # Organization-wide endpoints only (they are about the team, not one person's things).
    TEAM_MEMBER_JOINED = "team.member_joined", _("Team member joined")
    TEAM_MEMBER_REMOVED = "team.member_removed", _("Team member removed")


TEAM_EVENTS = (EventType.TEAM_MEMBER_JOINED, EventType.TEAM_MEMBER_REMOVED)


# Sent by "Send test event" only; endpoints do not subscribe to it.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    """A URL that receives the events it subscribes to, signed with its own secret."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    # Set: the organization's endpoint (made by an admin), which receives every current
    # member's events while its owner is an admin there. Empty: the owner's own events.
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(default=list)  # EventType values
    is_active = models.BooleanField(_("active"), default=True)
    # Fernet ciphertext of "whsec_…"; the previous secret stays valid until
    # previous_secret_expires_at after a rotation (deliveries are signed with both).
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Since when deliveries have failed without a success in between (None: healthy).
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookDelivery(OutboxItem):
    """One event for one endpoint: the outbox row its delivery task works on.

    ``message_id`` is the ``webhook-id`` header, the same on every attempt (receivers
    de-duplicate on it). ``body`` is the exact JSON that is signed and sent. Deliveries
    that share an ``order_key`` (one booking, one calendar connection) on one endpoint
    go out one after the other, in ``pk`` order.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    event_type = models.CharField(max_length=40)
    body = models.TextField()
    order_key = models.CharField(max_length=80)
    # Retries stop after this time (the event's time plus WEBHOOK_RETRY_WINDOW; reset by Resend).
    retry_until = models.DateTimeField()
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["endpoint", "order_key", "state"]),
        ]
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id} ({self.state})"


class ApiToken(models.Model):
    """A personal access token for ``/api/v1/``: named, stored hashed, revocable."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the token, shown so its owner can tell tokens apart.
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Refused from this moment on; null: lasts until revoked (every token made before
    # tokens could expire, and those made with "Never").
    expires_at = models.DateTimeField(null=True, blank=True)
    # When its owner was emailed that it expires soon (integrations.token_expiry): set
    # once, by the conditional UPDATE that claims the email, so it is never sent twice.
    expiry_warned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_expired(self) -> bool:
        return self.has_expired()
