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
    problems = []
    if settings.EMAIL_BACKEND in UNSENT_MAIL_BACKENDS:
        problems.append(
            checks.Warning(
                "EMAIL_URL is not set (or names a local backend): password-reset links and "
                "booking emails would be written to the log instead of sent.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587.",
                id="ops.W001",
            )
        )
    if settings.DEFAULT_FROM_EMAIL.rstrip(">").endswith("@localhost"):
        problems.append(
            checks.Warning(
                f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}: mail servers refuse "
                "or bin mail from @localhost.",
                hint="Set DEFAULT_FROM_EMAIL to an address of your domain.",
                id="ops.W002",
            )
        )
    return problems
