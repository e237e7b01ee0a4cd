"""Deployment checks (`manage.py check --deploy`) for what production would silently lack."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

# Backends that keep mail on this machine instead of sending it.
UNSENT_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


@checks.register(checks.Tags.security, deploy=True)
def email_is_sent_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.EMAIL_BACKEND not in UNSENT_MAIL_BACKENDS:
        return []
    return [
        checks.Warning(
            "EMAIL_URL is not set (or names a local backend): password-reset links and "
            "booking emails would be written to the log instead of sent.",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587.",
            id="ops.W001",
        )
    ]
