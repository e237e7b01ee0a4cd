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
    return env_int(name, default=default, minimum=1)


def env_count(name: str, *, default: int) -> int:
    """Read a whole number that is zero or more."""
    return env_int(name, default=default, minimum=0)


def env_int(name: str, *, default: int, minimum: int = 0) -> int:
    """Read a whole number no smaller than ``minimum``."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.")
    if value < minimum:
        if minimum == 0:
            raise ImproperlyConfigured(f"{name} must be zero or more, not {value}.")
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_int_list(name: str, *, default: list[int], minimum: int = 0) -> list[int]:
    """Read a comma-separated list of whole numbers no smaller than ``minimum``."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    values = []
    for item in raw.split(","):
        try:
            value = int(item.strip())
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated whole numbers, not {raw!r}."
            )
        if value < minimum:
            raise ImproperlyConfigured(f"{name} values must be at least {minimum}, not {value}.")
        values.append(value)
    return values


def env_choice(name: str, *, choices: tuple[str, ...], default: str) -> str:
    """Read one of ``choices`` (case-insensitive); anything else is a configuration error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {raw!r}.")
    return word
