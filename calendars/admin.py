"""Connections and calendars for operators; token caches are never shown or editable."""

from __future__ import annotations

from django.contrib import admin

from calendars.models import Calendar, CalendarConnection, CalendarSyncState, PushedEvent
from outbox.admin import OUTBOX_FIELDS, OutboxAdmin


class CalendarInline(admin.TabularInline):
    model = Calendar
    fields = ("name", "remote_id", "is_default", "is_active", "last_synced_at", "last_sync_error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CalendarConnection)
class CalendarConnectionAdmin(admin.ModelAdmin):
    list_display = (
        "account_email",
        "host",
        "provider",
        "status",
        "refresh_expires_at",
        "disconnect_reason",
    )
    list_filter = ("provider", "status", "disconnect_reason")
    search_fields = ("account_email", "host__email")
    # token_cache is deliberately absent: not listed, not displayed, not editable.
    fields = (
        "host",
        "provider",
        "status",
        "account_email",
        "account_name",
        "account_id",
        "has_tokens",
        "default_reminder_minutes",
        "signed_in_at",
        "refresh_issued_at",
        "refresh_expires_at",
        "expiry_warned_days",
        "calendars_skipped",
        "calendars_refreshed_at",
        "last_token_error",
        "connected_at",
        "disconnected_at",
        "disconnect_reason",
    )
    readonly_fields = tuple(f for f in fields if f != "default_reminder_minutes")
    inlines = [CalendarInline]

    def has_add_permission(self, request) -> bool:
        return False  # connections are made only by the host's own sign-in

    @admin.display(boolean=True, description="Tokens stored")
    def has_tokens(self, obj: CalendarConnection) -> bool:
        return bool(obj.token_cache)


class CalendarSyncStateInline(admin.StackedInline):
    """Where the busy-time sync stands (the delta link itself is never shown)."""

    model = CalendarSyncState
    fields = ("synced_from", "synced_until", "full_synced_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ("name", "connection", "is_default", "is_active", "last_synced_at")
    list_filter = ("is_active", "is_default")
    search_fields = ("name", "connection__account_email")
    readonly_fields = (
        "connection",
        "remote_id",
        "name",
        "color",
        "is_default",
        "can_edit",
        "busy_horizon_days",
        "sync_retry_at",
        "last_synced_at",
        "last_sync_error",
    )
    inlines = [CalendarSyncStateInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(PushedEvent)
class PushedEventAdmin(OutboxAdmin):
    """The outbox, read-only: what each calendar should hold and what the workers achieved."""

    list_display = (
        "source",
        "calendar",
        "state",
        "wanted",
        "version",
        "synced_version",
        "attempts",
    )
    list_filter = ("state", "wanted")
    search_fields = ("source", "remote_id", "calendar__connection__account_email")
    fields = (
        "host",
        "calendar",
        "source",
        "transaction_id",
        "payload",
        "wanted",
        "version",
        "synced_version",
        "remote_id",
        *OUTBOX_FIELDS,
    )
