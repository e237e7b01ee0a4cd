"""Where long words may wrap in a narrow column."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def email_wrap(value: str, where: str = "") -> SafeString:
    """``value`` (an email address) escaped, free to wrap before its "@" only: a table
    column then needs room for the longer half, not the whole address, and the address
    never breaks inside a name. ``email_wrap:"dots"`` may also wrap before each dot of
    the domain, for a line that is narrower than a tenant's long domain on a phone."""
    local, at, domain = escape(value).rpartition("@")
    if not at:
        return escape(value)
    if where == "dots":
        domain = domain.replace(".", "<wbr>.")
    return mark_safe(f"{local}<wbr>@{domain}")  # noqa: S308 - escaped above


@register.filter
def url_wrap(value: str) -> SafeString:
    """``value`` (a link shown as text) escaped, free to wrap after each "/" only: on a
    phone a page's link goes on as many lines as it needs, each path part whole."""
    return mark_safe(escape(value).replace("/", "/<wbr>"))  # noqa: S308 - escaped above
