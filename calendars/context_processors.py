"""Template context for every page: the calendar banners shown at the top of Setup."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from calendars.selectors import banners_for_host


def calendar_banners(request: HttpRequest) -> dict:
    """``calendar_banners``: evaluated only by templates that show it (Setup pages)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"calendar_banners": []}
    return {"calendar_banners": SimpleLazyObject(lambda: banners_for_host(host=user))}
