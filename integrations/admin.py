"""Webhook endpoints, deliveries and API tokens for operators, read-only; secrets and
token hashes are never shown."""

from __future__ import annotations

from django.contrib import admin

from integrations.models import ApiToken, WebhookDelivery, WebhookEndpoint
from outbox.admin import OUTBOX_FIELDS, OutboxAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "owner", "is_active", "failing_since", "disabled_at")
    list_filter = ("is_active",)
    search_fields = ("url", "owner__email")
    # The secrets (ciphertext) are deliberately absent.
    fields = (
        "owner",
        "url",
        "description",
        "events",
        "is_active",
        "previous_secret_expires_at",
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "created_at",
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OutboxAdmin):
    list_display = ("message_id", "event_type", "endpoint", "state", "attempts", "created_at")
    list_filter = ("state", "event_type")
    search_fields = ("message_id", "order_key")
    fields = (
        "endpoint",
        "message_id",
        "event_type",
        "order_key",
        "retry_until",
        "response_status",
        "response_ms",
        "response_excerpt",
        "delivered_at",
        "body",
        *OUTBOX_FIELDS,
    )


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "owner",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    search_fields = ("name", "owner__email")
    fields = ("owner", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
