"""Which HTTP methods a view answers, the same with or without a CSRF token."""

from __future__ import annotations

from collections.abc import Callable

from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe


def read_only(view: Callable) -> Callable:
    """GET and HEAD only; any other method is a ``405`` with ``Allow: GET, HEAD``.

    CSRF-exempt because such a view changes nothing: without it a ``PUT`` or ``DELETE``
    from a client without the CSRF cookie (every outside client) got the CSRF check's
    ``403`` before the view could say which methods it answers."""
    return csrf_exempt(require_safe(view))
