"""Startup checks: a malformed TOKEN_ENCRYPTION_KEYS entry stops with a clear message;
`check --deploy` warns when no Azure app is configured, and when Microsoft could not
deliver change notifications to SITE_URL (busy time is then only polled)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from calendars import crypto


@checks.register(checks.Tags.security)
def token_keys_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    try:
        crypto.check_keys()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="calendars.E001")]
    return []


@checks.register(checks.Tags.compatibility, deploy=True)
def microsoft_app_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.GRAPH_SANDBOX or (settings.MS_CLIENT_ID and settings.MS_CLIENT_SECRET):
        return []
    return [
        checks.Warning(
            "MS_CLIENT_ID and MS_CLIENT_SECRET are not set: no host can connect Office 365.",
            hint="Register an Azure app (README, 'Connecting real Microsoft 365').",
            id="calendars.W001",
        )
    ]


@checks.register(checks.Tags.compatibility, deploy=True)
def change_notifications_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    from calendars.services.subscriptions import notifications_unavailable_reason

    reason = notifications_unavailable_reason()
    if not reason or not settings.CALENDAR_NOTIFICATIONS:
        return []
    return [
        checks.Warning(
            f"Calendar change notifications are off: {reason}. Busy time is only polled "
            f"(every CALENDAR_SYNC_INTERVAL, {settings.CALENDAR_SYNC_INTERVAL} s), so a "
            "meeting added in Outlook stays bookable until the next poll.",
            hint="Set SITE_URL to the public https:// address of this site (README, "
            "'Live busy time: Graph change notifications').",
            id="calendars.W002",
        )
    ]
