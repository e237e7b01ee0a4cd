from django.contrib import admin

from ops.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["source", "seen_at", "hostname"]
    readonly_fields = ["source", "seen_at", "hostname"]
