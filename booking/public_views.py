"""Public pages for invitees: the booking page, the confirmation, cancel and reschedule.

The booking page is a server-rendered shell whose script uses the JSON API
(``booking.api``). Confirmation, cancel and reschedule pages live at links
carrying the booking's signed token (``booking.tokens``).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.timezones import time_zone_entries
from booking import page_html_cache
from booking.events import Actor
from booking.ics import booking_ics
from booking.locales import language_of, normalize_locale, request_locale, zone_text
from booking.models import Booking, BookingPage, LocationKind, is_wellformed_slug
from booking.public_forms import CancelForm, RescheduleForm
from booking.reminders import join_url_for
from booking.selectors import (
    booking_host_names,
    public_page_for,
    public_page_stamp_for,
    round_robin_handed_over,
)
from booking.services.bookings import BookingError, SlotTaken, booking_cancel, booking_reschedule
from booking.services.calendar_events import booking_details_text
from booking.tokens import booking_from_token, booking_paths, booking_token
from ops.language import supported_language
from ops.methods import read_only
from ops.ratelimit import rate_limit_exceeded


@read_only
def book_page(request: HttpRequest, slug: str) -> HttpResponse:
    """``/book/<slug>/``: 404 with a friendly page when unknown or not taking bookings.

    Links are lowercase; one typed with capitals (``/book/Alice-Intro/``) redirects.
    A visitor without our cookies gets the body rendered for the same page version,
    locale and embed flag earlier (``booking.page_html_cache``): one query and no template.
    """
    lower = slug.lower()
    if lower != slug and is_wellformed_slug(lower) and public_page_for(slug=lower) is not None:
        return redirect("booking:page", lower, permanent=True)
    stamp = public_page_stamp_for(slug=slug) if is_wellformed_slug(slug) else None
    if stamp is None or not stamp.is_active:
        page = public_page_for(slug=slug) if stamp is not None else None
        return render(request, "booking/public/unavailable.html", {"page": page}, status=404)
    request.frame_ancestors = stamp.frame_ancestors()
    locale = request_locale(request)

    def page_body() -> bytes:
        page = public_page_for(slug=slug)
        if page is None:  # deleted a moment ago
            raise Http404("No booking page here.")
        context = _widget_context(page, mode="book", locale=locale)
        return render_to_string("booking/public/book.html", context, request).encode()

    if not page_html_cache.shareable(request):
        return HttpResponse(page_body())
    body = page_html_cache.page_html(
        stamp=stamp,
        locale=locale,
        language=translation.get_language(),
        embedded=request.GET.get("embed") == "1",
        render=page_body,
    )
    response = HttpResponse(body)
    # As when rendered: the page would show a session's messages.
    patch_vary_headers(response, ("Cookie",))
    return response


def widget_strings() -> dict[str, str]:
    """The booking page script's words, in the page's language."""
    return {
        "loading": _("Loading free times…"),
        "loadFailed": _("Free times could not be loaded. Check your connection and try again."),
        # Translators: %(zone)s is a time zone's name.
        "marked": _("Days with free times are marked. Times are shown in %(zone)s."),
        "noneThisMonth": _("No free times this month. Try the next month."),
        "freeOne": _("1 free time"),
        # Translators: the number of free times on a day (more than one).
        "freeMany": _("%(count)s free times"),
        "freeNone": _("no free times"),
        # Translators: a time slot for screen readers, e.g. "3:00 PM to 3:30 PM".
        "span": _("%(start)s to %(end)s"),
        "taken": _("Sorry, that time was just taken. Please pick another time."),
        "booking": _("Booking…"),
        "book": _("Book this time"),
        "failed": _("Something went wrong; please try again."),
        "unsent": _("The booking could not be sent. Check your connection and try again."),
        "pickZone": _("Pick a time zone from the list, e.g. Europe/London."),
    }


def _weekday_names(locale: str) -> list[tuple[str, str]]:
    """Monday to Sunday as (narrow, full) names in the reader's locale."""
    babel_locale = locale.replace("-", "_")
    narrow = get_day_names("narrow", locale=babel_locale)
    wide = get_day_names("wide", locale=babel_locale)
    return [(narrow[day], wide[day]) for day in range(7)]


def _widget_context(
    page: BookingPage, *, mode: str, locale: str, booking: Booking | None = None
) -> dict:
    return {
        "weekday_names": _weekday_names(locale),
        "page": page,
        "questions": list(page.questions.all()),
        "booking": booking,
        "widget": {
            "mode": mode,
            "slotsUrl": reverse("booking:api-slots", args=[page.slug]),
            "bookingsUrl": reverse("booking:api-bookings", args=[page.slug]),
            "pageTimeZone": page.time_zone,
            "duration": page.duration_minutes,
            "horizonDays": page.horizon_days,
            "currentStart": booking.start.isoformat() if booking else None,
            # Sent with the slots query so the booking being moved counts as free.
            "rescheduleToken": booking_token(booking) if booking else None,
            "inviteeTimeZone": booking.invitee_time_zone if booking else None,
            # Intl formats times and dates in it; the booking stores it (booking.locales).
            "locale": locale,
            "strings": widget_strings(),
            "timeZonesUrl": reverse("booking:time-zones") + "?locale=" + locale,
            # Told to the embedding site with scheduleonce:booked.
            "slug": page.slug,
            "title": page.title,
            "hostName": page.host.get_full_name(),
        },
    }


@read_only
def time_zones(request: HttpRequest) -> JsonResponse:
    """Every zone's names in ``?locale=`` (else the request's), for the zone pickers."""
    locale = normalize_locale(request.GET.get("locale")) or request_locale(request)
    response = JsonResponse({"locale": locale, "zones": list(time_zone_entries(locale))})
    response["Cache-Control"] = "public, max-age=3600"
    response["Vary"] = "Accept-Language"
    return response


def _booking_or_404(request: HttpRequest, token: str) -> Booking:
    """The booking of this link; its pages speak the invitee's language unless ?lang= says."""
    booking = booking_from_token(token)
    if booking is None:
        raise Http404("No booking at this link.")
    request.frame_ancestors = booking.page.frame_ancestors() if booking.page else ["*"]
    if not supported_language(request.GET.get("lang")):
        translation.activate(language_of(booking.invitee_locale))
        request.LANGUAGE_CODE = translation.get_language()
    return booking


def _chosen_language(request: HttpRequest) -> str:
    """``?lang=de`` when this request chose its language with ``?lang=`` (else ""): the
    invitee's links and the page after cancelling or moving keep it, instead of falling
    back to the language the booking was made in."""
    chosen = supported_language(request.GET.get("lang"))
    return f"?lang={chosen}" if chosen else ""


def _manage_redirect(request: HttpRequest, token: str, *, moved: bool = False) -> HttpResponse:
    """Back to the booking's page after a cancel or a move, in the language chosen."""
    query = _chosen_language(request)
    if moved:
        query += ("&" if query else "?") + "moved=1"
    return redirect(reverse("booking:manage", args=[token]) + query)


def _reader_locale(request: HttpRequest, booking: Booking) -> str:
    """The locale dates and times are written in: the booking's, unless the invitee chose
    another language with ``?lang=`` (then that language's, with the browser's region):
    a German page must not name an English weekday."""
    if translation.get_language() == language_of(booking.invitee_locale):
        return booking.invitee_locale
    return request_locale(request)


def _details(booking: Booking, request: HttpRequest) -> dict:
    zone = ZoneInfo(booking.invitee_time_zone)
    locale = _reader_locale(request, booking)
    links = booking_paths(booking)
    query = _chosen_language(request)
    if query:
        links = {
            name: link + query if name in ("manage", "cancel", "reschedule") else link
            for name, link in links.items()
        }
    return {
        "locale": locale,
        "booking": booking,
        "start": booking.start.astimezone(zone),
        "end": booking.end.astimezone(zone),
        "zone": booking.invitee_time_zone,
        "zone_text": zone_text(booking.invitee_time_zone, booking.start, locale),
        "links": links,
        "changeable": booking.is_confirmed and booking.start > timezone.now(),
        "hosts_text": _and_list(booking_host_names(booking=booking)),
    }


def _and_list(names: list[str]) -> str:
    """ "Ann", "Ann and Bob", "Ann, Bob and Cy"."""
    if len(names) < 2:
        return "".join(names)
    return _("%(names)s and %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


@never_cache
@read_only
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """The confirmation page: details in the invitee's time zone, .ics, cancel, reschedule,
    and the online meeting's join link (the page asks ``join.json`` until it exists)."""
    booking = _booking_or_404(request, token)
    context = {
        **_details(booking, request),
        # Just moved by the invitee (the reschedule link's page sends them here so).
        "moved": booking.is_confirmed and request.GET.get("moved") == "1",
        "join_expected": _join_link_expected(booking),
        "join_url": join_url_for(booking=booking),
        "join_poll_url": reverse("booking:join", args=[token]),
    }
    return render(request, "booking/public/confirmation.html", context)


def _join_link_expected(booking: Booking) -> bool:
    """Whether an online meeting link is coming: a Teams page's booking, not over, whose
    calendar can make Teams meetings."""
    page = booking.page
    return (
        booking.is_confirmed
        and not booking.no_join_link
        and booking.end > timezone.now()
        and page is not None
        and page.location_kind == LocationKind.TEAMS
    )


@never_cache
@read_only
def join_link(request: HttpRequest, token: str) -> JsonResponse:
    """``{"join_url": "…" or "", "expected": bool}``: what the confirmation page waits for."""
    booking = booking_from_token(token)
    if booking is None:
        return JsonResponse({"message": "No booking at this link."}, status=404)
    expected = _join_link_expected(booking)
    return JsonResponse(
        {"join_url": join_url_for(booking=booking) if expected else "", "expected": expected}
    )


@read_only
def ics(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_404(request, token)
    body = booking_ics(
        booking=booking, for_host=False, description=booking_details_text(booking=booking)
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="invite.ics"'
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_404(request, token)
    form = CancelForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            booking_cancel(booking=booking, actor=Actor.INVITEE, reason=form.cleaned_data["reason"])
        except BookingError as refused:
            form.add_error(None, refused.message)
            status = 400
        else:
            return _manage_redirect(request, token)
    elif request.method == "POST":
        status = 400
    context = {**_details(booking, request), "form": form}
    return render(request, "booking/public/cancel.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking_or_404(request, token)
    page = booking.page
    status = 200
    error = ""
    if page is None or not page.is_active:
        context = {**_details(booking, request), "page": page}
        return render(request, "booking/public/reschedule_closed.html", context, status=404)
    wait = None
    if request.method == "POST":
        wait = rate_limit_exceeded(
            scope="booking", request=request, limit=settings.BOOKING_RATE_LIMIT
        )
        if wait is not None:
            status, error = 429, _("Too many attempts; try again in a minute.")
        else:
            status, error = _reschedule_post(request, booking)
        if status == 302:
            return _manage_redirect(request, token, moved=True)
    details = _details(booking, request)
    context = {
        **_widget_context(page, mode="reschedule", locale=details["locale"], booking=booking),
        **details,
        "error": error,
        "form": RescheduleForm(),
        "handed_over": round_robin_handed_over(booking=booking),
    }
    response = render(request, "booking/public/reschedule.html", context, status=status)
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


def _reschedule_post(request: HttpRequest, booking: Booking) -> tuple[int, str]:
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        return 400, _("Pick one of the free times below.")
    try:
        booking_reschedule(booking=booking, start=form.cleaned_data["start"])
    except SlotTaken as refused:
        return 409, refused.message
    except BookingError as refused:
        return 400, refused.message
    return 302, ""
