"""A logged-in person changes their password (Setup → Profile → Change password).

The new password is saved, the session it was changed in gets a new id and stays
logged in, and every other session of the account ends at its next request (Django
checks each session against a hash of the password). The account's owner is told by
email, in their Profile language, so a change they did not make does not go unseen.
"""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User

log = logging.getLogger(__name__)


def password_change(*, request: HttpRequest, user: User, new_password: str) -> None:
    """Save ``new_password``; keep this session (new id), end the others, send the email."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    update_session_auth_hash(request, user)  # cycles the session key too
    password_changed_email_send(user=user)


def password_changed_email_send(*, user: User) -> None:
    """Tell ``user`` their password was changed (no secret in it). A mail server that
    refuses or cannot be reached is logged, never an error: the change is made."""
    language = user.language or translation.get_language() or "en"
    zone = _zone(user.time_zone)
    with translation.override(language), timezone.override(zone):
        context = {
            "email": user.email,
            "when": timezone.now(),
            "zone": zone.key,
            "reset_url": settings.SITE_URL.rstrip("/") + reverse("accounts:password_reset"),
        }
        subject = _("Your ScheduleOnce password was changed")
        body = render_to_string("accounts/email/password_changed.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except (smtplib.SMTPException, OSError) as error:
        log.warning(
            "password-changed email for user %s not sent: %s", user.pk, type(error).__name__
        )


def _zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
