"""Startup checks: a malformed TOKEN_ENCRYPTION_KEYS entry stops with a clear message."""

from __future__ import annotations

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
