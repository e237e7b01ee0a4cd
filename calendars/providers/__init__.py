"""Calendar providers behind one interface, listed explicitly (no discovery by import)."""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from calendars.providers.base import CalendarProvider, ProviderError

PROVIDERS: dict[str, str] = {
    "office365": "calendars.providers.office365.Office365Provider",
}

__all__ = ["PROVIDERS", "CalendarProvider", "ProviderError", "get_provider", "provider_package"]


def provider_package(key: str) -> str:
    """The dotted path of the package of the provider registered under ``key``."""
    return PROVIDERS[key].rsplit(".", 1)[0]


@cache
def get_provider(key: str) -> CalendarProvider:
    """The provider registered under ``key``; KeyError for an unknown key."""
    return import_string(PROVIDERS[key])()
