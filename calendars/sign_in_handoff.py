"""Handing a provider's sign-in answer back to the host name the sign-in started on.

The redirect URI is always ``SITE_URL``'s (the one registered with Microsoft). A
host who opened Setup under another allowed host name starts the sign-in there,
so its session (with the PKCE verifier) lives there. Microsoft posts the answer to
``SITE_URL``; the answer is parked server-side and the browser is sent (a GET,
which carries the SameSite=Lax session cookie) back to the same callback on the
starting host name with a one-time handle, never the code, in the URL.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.debug import sensitive_variables

from calendars import crypto
from calendars.constants import SIGN_IN_TTL_SECONDS
from calendars.models import SignInHandoff

HANDOFF_PARAM = "handoff"


def request_origin(request: HttpRequest) -> str:
    """``scheme://host[:port]`` the request came in under (its host is an allowed one)."""
    return f"{request.scheme}://{request.get_host()}"


def site_origin() -> str:
    return settings.SITE_URL.rstrip("/")


def _fresh() -> datetime:
    return timezone.now() - timedelta(seconds=SIGN_IN_TTL_SECONDS)


def handoff_expect(*, state: str, origin: str) -> None:
    """Remember that the sign-in ``state`` started on ``origin`` (not ``SITE_URL``)."""
    SignInHandoff.objects.filter(created_at__lt=_fresh()).delete()
    SignInHandoff.objects.update_or_create(
        state=state[:255], defaults={"origin": origin[:255], "answer": ""}
    )


@sensitive_variables("answer")
def handoff_park(*, answer: dict[str, str], here: str, path: str) -> str | None:
    """Park ``answer`` if its sign-in started on another origin than ``here``.

    Returns the address to send the browser to (``path`` on that origin, with the
    one-time handle), or None when the answer belongs here (or to no hand-over).
    """
    state = answer.get("state", "")
    if not state or "\x00" in state:  # never one of ours (and PostgreSQL refuses a NUL)
        return None
    row = SignInHandoff.objects.filter(state=state, created_at__gte=_fresh()).first()
    if row is None or row.origin == here:
        return None
    parked = SignInHandoff.objects.filter(pk=row.pk, answer="").update(
        answer=crypto.encrypt(json.dumps(answer))
    )
    if not parked:  # a second answer for one sign-in: the first one stands
        return None
    return f"{row.origin}{path}?{HANDOFF_PARAM}={row.pk}-{_tag(row)}"


def _tag(row: SignInHandoff) -> str:
    return salted_hmac("calendars.sign_in_handoff", f"{row.pk}:{row.state}").hexdigest()[:32]


@sensitive_variables("answer")
def handoff_collect(*, handle: str) -> dict[str, str] | None:
    """Take (once) the answer parked under ``handle``; None if unknown, used or too old."""
    pk, _, tag = handle.partition("-")
    if not (pk.isascii() and pk.isdigit()):  # "²" passes isdigit() alone
        return None
    row = SignInHandoff.objects.filter(pk=int(pk), created_at__gte=_fresh()).exclude(answer="")
    row = row.first()
    if row is None or not constant_time_compare(tag, _tag(row)):
        return None
    deleted, _ = SignInHandoff.objects.filter(pk=row.pk, answer=row.answer).delete()
    if not deleted:  # another request took it first
        return None
    try:
        return json.loads(crypto.decrypt(row.answer))
    except (crypto.TokenKeyError, ValueError):
        return None
