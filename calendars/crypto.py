"""Encryption of stored provider token caches.

Keys come from ``settings.TOKEN_ENCRYPTION_KEYS`` (Fernet keys, newest first):
the newest key encrypts, every listed key decrypts, and :func:`rotate`
re-encrypts with the newest key. Errors never quote a key or a plaintext.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TokenKeyError(Exception):
    """Stored ciphertext could not be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("TOKEN_ENCRYPTION_KEYS is empty: add at least one Fernet key.")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"TOKEN_ENCRYPTION_KEYS entry #{position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from None
    return MultiFernet(fernets)


def _current() -> MultiFernet:
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def check_keys() -> None:
    """Raise ImproperlyConfigured when a configured key is malformed."""
    _current()


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the newest key; returns ASCII ciphertext."""
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Decrypt with any configured key; raises TokenKeyError if none fits."""
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenKeyError(
            "Stored tokens could not be decrypted with any key in TOKEN_ENCRYPTION_KEYS "
            "(was an old key removed before `manage.py rotate_token_key` ran?)."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt ``ciphertext`` with the newest key; raises TokenKeyError if no key fits."""
    try:
        return _current().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenKeyError(
            "Stored tokens could not be decrypted with any key in TOKEN_ENCRYPTION_KEYS."
        ) from None
