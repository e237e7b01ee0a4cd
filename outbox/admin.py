"""What every outbox's admin shares: rows are read, never written, by people."""

from __future__ import annotations

from django.contrib import admin

# The shared columns of every outbox row (outbox.models.OutboxItem), after its own.
OUTBOX_FIELDS = (
    "state",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "queued_at",
    "last_error",
    "created_at",
    "updated_at",
)


class OutboxAdmin(admin.ModelAdmin):
    """An outbox, read-only: workers write its rows; ``fields`` are all shown, none editable."""

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
