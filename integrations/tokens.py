"""Personal access tokens: made once, shown once, stored as their SHA-256 only.

A token is ``so_pat_`` and 32 random url-safe bytes; guessing one is hopeless, so
a plain SHA-256 (not a slow password hash) is the right store: looking one up on
every API request stays a single indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.utils import timezone

from integrations.models import ApiToken

TOKEN_PREFIX = "so_pat_"
# last_used_at is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# What Setup offers first for a new token's life, in days (30, 90, 365 or until revoked).
DEFAULT_EXPIRY_DAYS = 90


class TokenExpired(Exception):
    """The token was live once and has passed its ``expires_at``."""

    def __init__(self, expired_at: datetime) -> None:
        super().__init__(f"expired at {expired_at.isoformat()}")
        self.expired_at = expired_at


def token_create(
    *, owner, name: str, expires_in_days: int | None = None, now: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``owner``, and its value (returned once: only the hash is kept).
    It is refused ``expires_in_days`` days from ``now``, or lasts until revoked (None)."""
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = None
    if expires_in_days is not None:
        expires_at = (now or timezone.now()) + timedelta(days=expires_in_days)
    token = ApiToken.objects.create(
        owner=owner,
        name=name.strip(),
        prefix=value[: len(TOKEN_PREFIX) + 4],
        token_hash=_hash(value),
        expires_at=expires_at,
    )
    return token, value


def token_revoke(*, token: ApiToken, now: datetime | None = None) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def token_authenticate(value: str, *, now: datetime | None = None) -> ApiToken | None:
    """The live token ``value`` names (with its owner), or None; notes when it was used.
    Raises ``TokenExpired`` for a token that is neither revoked nor its owner's account
    deactivated, but past its expiry (the caller can then say so)."""
    if not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        return None
    token = (
        ApiToken.objects.select_related("owner")
        .filter(token_hash=_hash(value), revoked_at__isnull=True, owner__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = now or timezone.now()
    if token.has_expired(now):
        raise TokenExpired(token.expires_at)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
