"""The read API at ``/api/v1/`` (see README, "Read API"), for personal access tokens.

Every request carries ``Authorization: Bearer <token>``; it sees only what the
token's owner may read now (``integrations.scope``: an admin's token reads the
organization's). Errors answer the public API's
``{"message": …, "errors": {…}}``. Requests are counted per token
(``API_RATE_LIMIT`` a minute). Lists are cursor-paginated: ``next_cursor`` is an
opaque string to pass back as ``cursor``, null on the last page. Booking pages come 100
to a page unless ``limit`` says fewer: before they were paginated every page came in one
answer, and a client written then (reading ``data`` and ignoring ``next_cursor``) keeps
getting all of them for any account with up to 100 pages.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as clock_time
from functools import wraps

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from booking.models import Booking, BookingCohost, BookingPage, BookingStatus
from integrations.openapi import openapi_document
from integrations.scope import bookings_visible_to, pages_visible_to
from integrations.serializers import booking_data, bookings_data, page_data
from integrations.tokens import TokenExpired, token_authenticate
from ops.error_answers import json_error
from ops.methods import read_only
from ops.ratelimit import WINDOW_SECONDS, cache_count, rate_limit_exceeded

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
PAGES_DEFAULT_LIMIT = MAX_LIMIT
BOOKING_PARAMS = {"status", "page", "from", "to", "cursor", "order", "limit"}
PAGE_PARAMS = {"cursor", "limit"}
PAGES_ORDER = "title"
ORDERS = {
    # name: (field, descending)
    "-created": ("created_at", True),
    "start": ("start", False),
}


def _refuse(status: int, message: str, errors: dict | None = None) -> JsonResponse:
    response = json_error(status, message, errors)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def token_required(view: Callable) -> Callable:
    """GET only, with a live bearer token under the rate limit; passes the token's owner."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            response = json_error(405, "Use GET.")
            response["Allow"] = "GET, HEAD"
            return response
        scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return _refuse(401, "Send a personal access token: Authorization: Bearer <token>.")
        refusal = "This token is not valid: it was revoked, or never made."
        try:
            token = token_authenticate(value.strip())
        except TokenExpired as expired:
            token = None
            refusal = (
                f"This token expired at {expired.expired_at.astimezone(UTC).isoformat()}; "
                "make a new one in Setup → Profile → API tokens."
            )
        if token is None:
            # Guessing is hopeless (256 random bits), but each guess costs a query: the
            # refusals one client may cause are counted too.
            wait = rate_limit_exceeded(
                scope="api-refused", request=request, limit=settings.API_RATE_LIMIT
            )
            if wait is not None:
                response = json_error(429, "Too many refused tokens; try again shortly.")
                response["Retry-After"] = str(wait)
                return response
            return _refuse(401, refusal)
        wait = _over_limit(token.pk)
        if wait is not None:
            response = json_error(429, "Too many requests with this token; try again shortly.")
            response["Retry-After"] = str(wait)
            return response
        return view(request, token.owner, *args, **kwargs)

    # Exempt from the CSRF check: a token, not a cookie, is the credential, and a write
    # is a 405 above (the check would answer 403 first).
    return csrf_exempt(never_cache(wrapper))


def _over_limit(token_id: int) -> int | None:
    limit = settings.API_RATE_LIMIT
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    if cache_count(f"ratelimit:api:{token_id}:{window}", timeout=WINDOW_SECONDS + 5) <= limit:
        return None
    return max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)


# --- bookings -------------------------------------------------------------------------------


class QueryError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@token_required
def bookings(request: HttpRequest, user) -> JsonResponse:
    """The user's bookings, filtered, newest first (or by start), one page at a time."""
    try:
        query = _bookings_query(request.GET)
        found = _bookings_filtered(user=user, query=query)
    except QueryError as bad:
        return json_error(400, "Check the query.", {bad.field: [bad.message]})
    rows, more = _page_of(found, query["limit"])
    next_cursor = _cursor_for(rows[-1], query["order"]) if more and rows else None
    return JsonResponse({"data": bookings_data(rows), "next_cursor": next_cursor})


def _known_only(params, known: set[str]) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        raise QueryError(unknown[0], "This parameter is not known.")


def _page_of(rows: QuerySet, limit: int) -> tuple[list, bool]:
    """The first ``limit`` rows, and whether more follow (one row more is read to know)."""
    found = list(rows[: limit + 1])
    return found[:limit], len(found) > limit


def _bookings_query(params) -> dict:
    _known_only(params, BOOKING_PARAMS)
    status = params.get("status", "")
    if status and status not in BookingStatus.values:
        raise QueryError("status", f"Use one of: {', '.join(BookingStatus.values)}.")
    order = params.get("order", "-created")
    if order not in ORDERS:
        raise QueryError("order", f"Use one of: {', '.join(ORDERS)}.")
    if "\x00" in params.get("page", ""):  # in no id or link; PostgreSQL refuses to compare it
        raise QueryError("page", "Use a booking page's id or the name in its link.")
    return {
        "status": status,
        "page": params.get("page", ""),
        "from": _moment(params.get("from", ""), "from"),
        "to": _moment(params.get("to", ""), "to"),
        "order": order,
        "limit": _limit(params.get("limit", "")),
        "cursor": _cursor_read(params.get("cursor", ""), order),
    }


def _moment(value: str, field: str) -> datetime | None:
    """A date (midnight UTC) or an ISO 8601 date-time (UTC when it has no offset)."""
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, clock_time(0)) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise QueryError(field, "Use a date (2026-05-01) or an ISO 8601 date-time.")
    return _in_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC), field)


def _in_utc(moment: datetime, field: str) -> datetime:
    """``moment`` in UTC: PostgreSQL refuses offsets past 15:59 (Python allows 23:59), and a
    moment at the calendar's edge may have no UTC reading at all."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise QueryError(field, "That moment is out of range.")


def _limit(value: str, default: int = DEFAULT_LIMIT) -> int:
    if not value:
        return default
    # isascii: "²" and other digits int() cannot read pass isdigit().
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise QueryError("limit", f"Use a whole number from 1 to {MAX_LIMIT}.")
    return int(value)


# A list's cohosts in one query (``booking_data`` reads them for each booking).
_COHOSTS = Prefetch("cohosts", queryset=BookingCohost.objects.select_related("user"))


def _bookings_filtered(*, user, query: dict) -> QuerySet[Booking]:
    found = (
        Booking.objects.filter(bookings_visible_to(user=user))
        .select_related("page", "host")
        .prefetch_related(_COHOSTS)
    )
    if query["status"]:
        found = found.filter(status=query["status"])
    if query["page"]:
        page = query["page"]
        by_id = page.isascii() and page.isdigit() and len(page) < 19
        found = found.filter(page__id=int(page)) if by_id else found.filter(page__slug=page)
    if query["from"]:
        found = found.filter(start__gte=query["from"])
    if query["to"]:
        found = found.filter(start__lt=query["to"])
    field, descending = ORDERS[query["order"]]
    cursor = query["cursor"]
    if cursor is not None:
        value, pk = cursor
        if descending:
            found = found.filter(Q(**{f"{field}__lt": value}) | Q(**{field: value, "pk__lt": pk}))
        else:
            found = found.filter(Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": pk}))
    sign = "-" if descending else ""
    return found.order_by(f"{sign}{field}", f"{sign}pk")


def _cursor_for(booking: Booking, order: str) -> str:
    field, _descending = ORDERS[order]
    return _cursor_make(order, getattr(booking, field).isoformat(), booking.pk)


def _cursor_read(value: str, order: str) -> tuple[datetime, int] | None:
    opened = _cursor_open(value, order)
    if opened is None:
        return None
    try:
        moment = datetime.fromisoformat(opened[0])
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise QueryError("cursor", "This cursor is not one we gave out.")
    return _in_utc(moment, "cursor"), opened[1]


def _cursor_make(order: str, value: str, pk: int) -> str:
    """An opaque cursor: the order it belongs to, and the last row's sort value and id."""
    raw = json.dumps({"o": order, "v": value, "id": pk})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_open(value: str, order: str) -> tuple[str, int] | None:
    """What ``_cursor_make`` put in ``value`` (None for no cursor); ``QueryError`` for
    anything we did not give out, or a cursor of another order."""
    if not value:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        sort_value, pk, same_order = raw["v"], int(raw["id"]), raw["o"] == order
        if not isinstance(sort_value, str) or not 0 < pk < 2**63:
            raise ValueError("out of range")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise QueryError("cursor", "This cursor is not one we gave out.")
    if not same_order:
        raise QueryError("cursor", "This cursor belongs to another order; start again.")
    return sort_value, pk


@token_required
def booking_detail(request: HttpRequest, user, booking_id: str) -> JsonResponse:
    """One booking the user may read. It takes no query parameter, and refuses any as the
    lists refuse the ones they do not know: a misspelt filter is never quietly ignored."""
    try:
        _known_only(request.GET, set())
    except QueryError as bad:
        return json_error(400, "Check the query.", {bad.field: [bad.message]})
    try:
        key = uuid.UUID(booking_id)
    except ValueError:
        key = None
    booking = (
        Booking.objects.filter(bookings_visible_to(user=user), uuid=key)
        .select_related("page", "host")
        .first()
        if key
        else None
    )
    if booking is None:
        return json_error(404, "No booking of yours has this id.")
    return JsonResponse(booking_data(booking))


@token_required
def booking_pages(request: HttpRequest, user) -> JsonResponse:
    """The user's booking pages (an admin's: the organization's) by title, a page at a time
    (``limit``, default ``PAGES_DEFAULT_LIMIT``; ``cursor``)."""
    try:
        _known_only(request.GET, PAGE_PARAMS)
        limit = _limit(request.GET.get("limit", ""), PAGES_DEFAULT_LIMIT)
        cursor = _cursor_open(request.GET.get("cursor", ""), PAGES_ORDER)
    except QueryError as bad:
        return json_error(400, "Check the query.", {bad.field: [bad.message]})
    pages = BookingPage.objects.filter(pages_visible_to(user=user))
    if cursor is not None:
        title, pk = cursor
        pages = pages.filter(Q(title__gt=title) | Q(title=title, pk__gt=pk))
    rows, more = _page_of(pages.order_by("title", "pk"), limit)
    last = rows[-1] if more and rows else None
    next_cursor = _cursor_make(PAGES_ORDER, last.title, last.pk) if last else None
    return JsonResponse({"data": [page_data(page) for page in rows], "next_cursor": next_cursor})


@never_cache
@read_only
def openapi(request: HttpRequest) -> JsonResponse:
    """The OpenAPI 3.1 document of ``/api/v1/`` and the public booking API (no token needed)."""
    return JsonResponse(openapi_document(server=settings.SITE_URL))
