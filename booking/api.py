"""The public JSON API of booking pages (see README, "Booking API").

``GET  /api/booking-pages/<slug>/slots?start=YYYY-MM-DD&end=YYYY-MM-DD&tz=Area/City``
(optionally ``&reschedule=<token>``: the booking of that reschedule link counts as free)
``POST /api/booking-pages/<slug>/bookings``

Errors always answer ``{"message": "...", "errors": {"<field>": ["..."]}}``. The
booking POST is CSRF-exempt: it needs ``Content-Type: application/json`` (which a
cross-site form cannot send without the browser asking first), creates only
invitee-side data, and is rate-limited per client IP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from booking.availability_cache import slots_json
from booking.bookable_pages import bookable_page_cached
from booking.locales import request_locale
from booking.models import Booking, BookingPage, TeamKind, is_wellformed_slug
from booking.public_forms import BookingRequestForm, SlotsQueryForm, horizon_clamp
from booking.selectors import (
    booking_host_names,
    day_window,
    public_page_for,
)
from booking.services.bookings import (
    BookingError,
    Invitee,
    PageClosed,
    SlotTaken,
    booking_check_changeable,
    booking_create,
)
from booking.tokens import booking_from_token, booking_paths
from ops.error_answers import json_error
from ops.language import supported_language
from ops.ratelimit import rate_limit_exceeded

MAX_BODY_BYTES = 16 * 1024
TOO_LARGE = f"The request is too large (at most {MAX_BODY_BYTES} bytes)."
BROKEN_TEXT = "The body has text that is not valid Unicode (a lone UTF-16 surrogate escape)."
# A booking body is two levels deep ({"answers": {"12": "Acme"}}); far deeper ones are
# refused before anything walks them (Python's recursion would give out near 1,000).
MAX_JSON_DEPTH = 20
TOO_DEEP = f"The body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."


def _light_page_for(*, slug: str) -> BookingPage | None:
    return public_page_for(slug=slug, with_host=False)


def api_view(*methods: str, load: Callable[..., BookingPage | None] = _light_page_for) -> Callable:
    """JSON 405 for other methods, JSON 404 for unknown or disabled pages; passes the page
    (read by ``load``: by default the page's row alone)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str):
            if request.method not in methods:
                response = json_error(405, f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            page = load(slug=slug) if is_wellformed_slug(slug) else None
            if page is None or not page.is_active:
                return json_error(404, "No booking page takes bookings at this address.")
            return view(request, page)

        # A 405 above whatever the CSRF check would say (these views read no cookie).
        return csrf_exempt(wrapper)

    return decorate


@never_cache
@api_view("GET", "HEAD")
def slots(request: HttpRequest, page: BookingPage) -> HttpResponse:
    """Free slots starting on the days ``start``..``end`` (inclusive, whole days in ``tz``)."""
    query = SlotsQueryForm(request.GET)
    if not query.is_valid():
        return json_error(400, "Check the query.", _errors(query))
    tz = query.cleaned_data["tz"]
    now = timezone.now()
    moving, problem = _booking_to_move(page=page, token=query.cleaned_data["reschedule"], now=now)
    if problem:
        return json_error(400, problem, {"reschedule": [problem]})
    first, last = horizon_clamp(
        first=query.cleaned_data["start"],
        last=query.cleaned_data["end"],
        today=now.date(),
        horizon_days=page.horizon_days,
    )
    found = "[]"
    if first <= last:
        start, end = day_window(first=first, last=last, time_zone=tz)
        found = slots_json(
            page=page, start=start, end=end, now=now, time_zone=tz, exclude_booking=moving
        )
    # The slots arrive as JSON already (cached that way); the rest is put around them.
    body = f'{{"timezone": {json.dumps(tz)}, "slots": {found}}}'
    return HttpResponse(body, content_type="application/json")


def _booking_to_move(
    *, page: BookingPage, token: str, now: datetime
) -> tuple[Booking | None, str | None]:
    """The booking a ``reschedule`` token names, or a message saying why it cannot be moved.

    An empty token is no booking and no problem. The token, not a booking id, is what
    is accepted: it is unguessable, and whoever holds it may move the booking anyway.
    """
    if not token:
        return None, None
    booking = booking_from_token(token)
    if booking is None:
        return None, "This reschedule link is not valid."
    if booking.page_id != page.pk:
        return None, "This reschedule link is for another booking page."
    try:
        booking_check_changeable(booking=booking, now=now)
    except BookingError as refused:
        return None, refused.message
    return booking, None


@csrf_exempt
@never_cache
@api_view("POST", load=bookable_page_cached)
def bookings(request: HttpRequest, page: BookingPage) -> JsonResponse:
    """Book a slot: 201 with the booking's links, 409 when taken, 400 with field errors."""
    wait = rate_limit_exceeded(scope="booking", request=request, limit=settings.BOOKING_RATE_LIMIT)
    if wait is not None:
        response = json_error(429, _("Too many booking attempts; try again in a minute."))
        response["Retry-After"] = str(wait)
        return response
    payload, problem = _json_body(request)
    if problem:
        status = 413 if problem == TOO_LARGE else 400
        return json_error(status, problem, {"body": [problem]})
    _speak_the_bookings_language(payload)
    form = BookingRequestForm(payload, questions=list(page.questions.all()))
    if not form.is_valid():
        return json_error(400, _("Check the highlighted fields."), _errors(form))
    data = form.cleaned_data
    invitee = Invitee(
        name=data["name"],
        email=data["email"],
        time_zone=data["timezone"],
        answers=data["answers"],
        locale=data["locale"] or request_locale(request),
    )
    try:
        booking = booking_create(page=page, start=data["start"], invitee=invitee)
    except SlotTaken as refused:
        return json_error(409, refused.message, {"start": [refused.message]})
    except PageClosed as refused:  # disabled or deleted since the page was looked up
        return json_error(404, refused.message)
    except BookingError as refused:
        return json_error(400, refused.message, {refused.field: [refused.message]})
    zone = ZoneInfo(booking.invitee_time_zone)
    links = _absolute_links(request, booking_paths(booking))
    response = JsonResponse(
        {
            "id": str(booking.uuid),
            "start": booking.start.astimezone(zone).isoformat(),
            "end": booking.end.astimezone(zone).isoformat(),
            "cancel_url": links["cancel"],
            "reschedule_url": links["reschedule"],
            "host": _host_answer(booking),
        },
        status=201,
    )
    response["Location"] = links["manage"]
    return response


def _absolute_links(request: HttpRequest, paths: dict[str, str]) -> dict[str, str]:
    """``request.build_absolute_uri`` of each of a booking's paths, its scheme and host
    worked out once. The paths are reversed URLs with a URL-safe token in them
    (``booking.tokens``), so there is nothing for it to join or escape in any of them
    (about 50 Python calls a link)."""
    site = request.build_absolute_uri("/").removesuffix("/")
    return {name: site + path for name, path in paths.items()}


def _speak_the_bookings_language(payload: dict) -> None:
    """Answer in the language the booking is made in (``locale``, which the page's own
    script sends: a ``?lang=de`` page in an English browser is German), when we speak it;
    else in the request's."""
    locale = payload.get("locale")
    language = supported_language(locale) if isinstance(locale, str) else None
    if language:
        translation.activate(language)


def _host_answer(booking: Booking) -> dict | list[dict]:
    """Who the invitee meets: the host (a round-robin page's assigned member), or every
    member of a collective page as a list, organizer first."""
    names = booking_host_names(booking=booking)
    if booking.page is None or booking.page.team_kind != TeamKind.COLLECTIVE:
        return {"name": names[0]}
    return [{"name": name} for name in names]


def _json_body(request: HttpRequest) -> tuple[dict, str | None]:
    """The body as a JSON object, or a message saying what is wrong with it."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return {}, "Send a JSON object with Content-Type: application/json."
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return {}, TOO_LARGE
    try:
        raw = request.body
    except RequestDataTooBig:
        return {}, TOO_LARGE
    if len(raw) > MAX_BODY_BYTES:
        return {}, TOO_LARGE
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {}, "The body is not valid JSON."
    if _nesting(text) > MAX_JSON_DEPTH:
        return {}, TOO_DEEP
    try:
        payload = json.loads(text, object_pairs_hook=_object_once)
    except _NamedTwice as twice:
        return {}, f'The body names "{twice.key[:50]}" more than once; send each field once.'
    except (ValueError, RecursionError):
        return {}, "The body is not valid JSON."
    if not isinstance(payload, dict):
        return {}, 'Send a JSON object, e.g. {"start": …, "name": …}.'
    if not _is_unicode(payload):
        return {}, BROKEN_TEXT
    return payload, None


class _NamedTwice(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_once(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys are each named once. Python keeps the last of two, another
    reader the first: which one the sender meant is a guess, so the body is refused."""
    payload = dict(pairs)
    if len(payload) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise _NamedTwice(key)
            seen.add(key)
    return payload


def _nesting(text: str) -> int:
    """How deeply arrays and objects nest in the JSON ``text``, read before parsing it
    (brackets inside strings do not count)."""
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _is_unicode(payload: dict) -> bool:
    """Whether every string in the body is real text.

    JSON may spell half of a UTF-16 surrogate pair (``"\\ud800"``); Python decodes it
    to a string that no database or email can encode.
    """
    try:
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _errors(form) -> dict[str, list[str]]:
    return {key: [str(message) for message in messages] for key, messages in form.errors.items()}
