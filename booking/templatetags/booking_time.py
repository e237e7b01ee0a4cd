"""``{{ moment|clock }}``: a booked time in the active zone (see ``booking.clock``)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from booking.clock import clock_text

register = template.Library()


@register.filter
def clock(value: datetime) -> str:
    return clock_text(timezone.localtime(value))
