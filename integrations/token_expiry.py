"""Warn an API token's owner by email, once, about a week before the token expires.

``tokens_to_warn`` selects the live tokens (not revoked, not yet expired) that expire
within ``API_TOKEN_EXPIRY_WARNING_DAYS`` and were not warned; ``token_warn_expiry``
claims one with a conditional UPDATE of ``expiry_warned_at`` in the transaction that
sends the email, so two beats or workers running at once send one email, and an email
that could not be sent leaves the token unclaimed for the next run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from integrations.models import ApiToken
from ops.mail import Email

logger = logging.getLogger(__name__)


def tokens_to_warn(*, now: datetime | None = None):
    now = now or timezone.now()
    days = settings.API_TOKEN_EXPIRY_WARNING_DAYS
    if days <= 0:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(
        revoked_at__isnull=True,
        expiry_warned_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + timedelta(days=days),
    ).select_related("owner")


def token_warn_expiry(*, token: ApiToken, now: datetime | None = None) -> bool:
    """Email the owner that ``token`` expires soon; True when this call sent it."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = (
            tokens_to_warn(now=now)
            .filter(pk=token.pk, expires_at=token.expires_at)
            .update(expiry_warned_at=now)
        )
        if not claimed:
            return False
        _email_warning(token=token, now=now)
    logger.info("Warned the owner of API token %s that it expires soon", token.pk)
    return True


def warn_expiring_tokens(*, now: datetime | None = None) -> list[int]:
    """Warn every token due; returns the ids of those whose owner was emailed."""
    now = now or timezone.now()
    warned = []
    for token in tokens_to_warn(now=now):
        try:
            if token_warn_expiry(token=token, now=now):
                warned.append(token.pk)
        except OSError:
            logger.exception("Could not email the expiry warning of API token %s", token.pk)
    return warned


def _email_warning(*, token: ApiToken, now: datetime) -> None:
    owner = token.owner
    link = settings.SITE_URL + reverse("integrations:tokens")
    zone = getattr(owner, "time_zone", "") or settings.TIME_ZONE
    # The owner reads it in their Profile language (the site's when they chose none).
    with timezone.override(zone), translation.override(owner.language or settings.LANGUAGE_CODE):
        when = formats.date_format(timezone.localtime(token.expires_at), "DATETIME_FORMAT")
        subject = _("Your API token “%(name)s” expires soon") % {"name": token.name}
        text = _(
            "Hello,\n\nyour API token “%(name)s” (%(prefix)s…) expires on %(when)s. "
            "From then on the API refuses it.\n\n"
            "If a script or service still uses it, make a new token in "
            "Setup → Profile → API tokens and put it in place of the old one:\n%(link)s\n"
        ) % {
            "name": token.name,
            "prefix": token.prefix,
            "when": when,
            "link": link,
        }
    Email(subject=subject, body=text, to=[owner.email]).send()
