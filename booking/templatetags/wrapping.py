"""Where long words may wrap in a narrow column."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def email_wrap(value: str) -> SafeString:
    """``value`` (an email address) escaped, free to wrap before its "@" only: a table
    column then needs room for the longer half, not the whole address, and the address
    never breaks inside a name."""
    return mark_safe(escape(value).replace("@", "<wbr>@"))  # noqa: S308 - escaped above
