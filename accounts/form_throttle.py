"""Forms anyone may send without an account are counted, and answer 429 past a limit.

- Sign-up and asking for a password reset: ``ACCOUNT_FORM_RATE_LIMIT`` sent forms per
  client address and minute (each form counted on its own), so one address cannot
  make accounts or reset emails by the thousand.
- Asking for a reset of one address: ``PASSWORD_RESET_LIMIT_PER_ADDRESS`` an hour from
  any number of client addresses, so nobody can bury a person in reset emails. Counted
  for every address asked for, existing account or not: the answer tells nothing.

Log-in failures have their own counters (``accounts.login_throttle``) and two-factor
codes django-otp's growing delays (``accounts.two_factor.code_wait_seconds``).
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import ngettext

from ops.ratelimit import cache_count, rate_limit_exceeded

RESET_WINDOW_SECONDS = 3600


def form_wait_seconds(*, request, form: str) -> int | None:
    """Count one ``form`` sent from this client: seconds to wait when over the limit."""
    return rate_limit_exceeded(
        scope=f"account-form:{form}", request=request, limit=settings.ACCOUNT_FORM_RATE_LIMIT
    )


def reset_wait_seconds(*, request, email: str) -> int | None:
    """Count one reset asked for ``email`` from this client (both limits)."""
    wait = form_wait_seconds(request=request, form="password-reset")
    if wait is not None:
        return wait
    limit = settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
    if limit <= 0:
        return None
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    now = time.time()
    window = int(now // RESET_WINDOW_SECONDS)
    key = f"password-reset:address:{address}:{window}"
    if cache_count(key, timeout=RESET_WINDOW_SECONDS + 5) <= limit:
        return None
    return max(1, math.ceil((window + 1) * RESET_WINDOW_SECONDS - now))


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many attempts from here. Try again in %(count)d minute.",
        "Too many attempts from here. Try again in %(count)d minutes.",
        minutes,
    ) % {"count": minutes}


def refused_form(form_class, *, initial: dict, seconds: int):
    """An unsent ``form_class`` filled with ``initial``, carrying ``wait_message``."""
    form = form_class(initial=initial)
    form.cleaned_data = {}  # nothing was cleaned; add_error looks there
    form.add_error(None, wait_message(seconds))
    return form


def too_many(response: HttpResponse, seconds: int) -> HttpResponse:
    """``response`` (the form again, with ``wait_message``) as a 429 with Retry-After."""
    response.status_code = 429
    response["Retry-After"] = str(seconds)
    return response
