"""Strict readers for environment variables.

django-environ treats any unknown boolean spelling as false; we would rather
refuse to start than silently turn a feature off because of a typo.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def env_flag(name: str, *, default: bool) -> bool:
    """Read a boolean; anything but the usual spellings is a configuration error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no or on/off, not {raw!r}."
    )


def env_list(name: str) -> list[str]:
    """Read a comma-separated list, dropping blanks."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def env_seconds(name: str, *, default: int) -> int:
    """Read a positive whole number of seconds."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number of seconds, not {raw!r}.")
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be positive, not {value}.")
    return value


def env_count(name: str, *, default: int) -> int:
    """Read a whole number that is zero or more."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.")
    if value < 0:
        raise ImproperlyConfigured(f"{name} must be zero or more, not {value}.")
    return value
