"""Booked times in templates, in the active zone and the reader's locale.

``{{ moment|clock }}``: HH:MM (see ``booking.clock``); ``{% when start end locale %}``:
"Monday, December 7, 2026, 3:00 PM to 3:30 PM" (with an en dash); ``{{ moment|day:locale }}`` and
``{{ moment|time_of_day:locale }}`` the parts (``booking.locales``).
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone, translation

from booking.clock import clock_text
from booking.locales import day_text, span_text, time_text, zone_text

register = template.Library()


@register.filter
def clock(value: datetime) -> str:
    return clock_text(timezone.localtime(value))


@register.filter
def day(value: datetime, locale: str) -> str:
    return day_text(timezone.localtime(value), locale)


@register.filter
def time_of_day(value: datetime, locale: str) -> str:
    return time_text(timezone.localtime(value), locale)


@register.simple_tag
def when(start: datetime, end: datetime, locale: str) -> str:
    return span_text(timezone.localtime(start), timezone.localtime(end), locale)


@register.simple_tag
def zone_name(zone: str, at: datetime | None = None) -> str:
    """``{% zone_name zone at %}``: the zone by the name the booking pages and emails use,
    in the page's language, with its offset at ``at`` (now when left out):
    "Mitteleuropäische Zeit — Berlin (UTC+1)", not "Europe/Berlin"."""
    return zone_text(zone, at or timezone.now(), translation.get_language() or "en")
