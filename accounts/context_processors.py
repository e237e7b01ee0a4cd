"""Template context for every page: the user's membership (Setup shows Team to admins)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.selectors import membership_of


def organization(request: HttpRequest) -> dict:
    """``membership``: the user's current membership or None, read only when shown."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"membership": None}
    return {"membership": SimpleLazyObject(lambda: membership_of(user=user))}
