"""Deployment checks (`manage.py check --deploy`) for outgoing webhooks."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def webhook_targets_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.WEBHOOK_ALLOW_LOOPBACK:
        return [
            checks.Warning(
                "WEBHOOK_ALLOW_LOOPBACK is on: any host may point a webhook at services "
                "listening on this machine's loopback addresses.",
                hint="Unset WEBHOOK_ALLOW_LOOPBACK (it is for local development).",
                id="integrations.W001",
            )
        ]
    return []
