"""Setup → Meetings: the host's bookings, one meeting's detail, host-side actions, export.

Every view reads through ``booking.meeting_selectors.bookings_visible_to``: a meeting the
user may not see answers 404, whatever the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from booking.meeting_export import export_response
from booking.meeting_forms import AskRescheduleForm, HostCancelForm, MeetingFilterForm
from booking.meeting_selectors import (
    HOSTS_MINE,
    PER_PAGE,
    TAB_LABELS,
    CalendarStanding,
    Tab,
    bookings_actionable_by,
    bookings_visible_to,
    calendar_standings,
    group_by_day,
    meeting_for,
    meetings_by_ids,
    meetings_count,
    meetings_count_capped,
    meetings_filtered,
    pages_in_view,
    pushes_of,
    team_hosts_for,
)
from booking.models import Booking
from booking.services.bookings import BookingNotChangeable
from booking.services.meetings import (
    AlreadyCancelled,
    meeting_ask_reschedule,
    meeting_cancel,
    meeting_set_no_show,
)
from calendars.models import PushedEvent, PushState
from calendars.services.push_queue import pushed_event_retry
from ops.ratelimit import turn_give_back, turn_take

SECTION = "meetings"
# The badge of a tab not shown counts up to this many and then says "1000+".
OTHER_TAB_COUNT_CAP = 1000
# "Ask to reschedule" emails one invitee; once per this many seconds per meeting, so a
# double click or an impatient host does not flood their inbox.
ASK_RESCHEDULE_EVERY = 10 * 60


@dataclass(frozen=True)
class MeetingRow:
    booking: Booking
    start: datetime  # in the viewer's zone
    end: datetime
    invitee_start: datetime | None  # in the invitee's zone, when its clock differs
    standing: CalendarStanding
    hosted_by_other: bool = False  # a member's meeting an admin looks at

    @property
    def duration_minutes(self) -> int:
        return int((self.booking.end - self.booking.start).total_seconds() // 60)


def _row(
    booking: Booking, standing: CalendarStanding, zone: ZoneInfo, *, hosted_by_other=False
) -> MeetingRow:
    start = booking.start.astimezone(zone)
    invitee = booking.start.astimezone(ZoneInfo(booking.invitee_time_zone))
    return MeetingRow(
        booking=booking,
        start=start,
        end=booking.end.astimezone(zone),
        invitee_start=invitee if invitee.utcoffset() != start.utcoffset() else None,
        standing=standing,
        hosted_by_other=hosted_by_other,
    )


def _meeting_or_404(request: HttpRequest, pk: int, *, to_act: bool = False) -> Booking:
    """The meeting ``pk`` if the user may see it, else 404. ``to_act``: and change it; an
    admin looking at a member's meeting gets 403 (it is theirs to change, not the admin's)."""
    booking = meeting_for(user=request.user, pk=pk)
    if booking is None:
        raise Http404("No such meeting.")
    if to_act and not _may_act(request, booking):
        raise PermissionDenied(_("Only the meeting's host can change it."))
    return booking


def _may_act(request: HttpRequest, booking: Booking) -> bool:
    return bookings_actionable_by(user=request.user).filter(pk=booking.pk).exists()


@login_required
@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """Where logging in leads: Meetings once the host has a booking, Getting started before."""
    if bookings_visible_to(user=request.user).exists():
        return redirect("meetings:list")
    return redirect("setup:home")


@login_required
@require_safe
def meeting_list(request: HttpRequest) -> HttpResponse:
    """``/setup/meetings/?tab=&booking_page=&from=&to=&q=&page=``."""
    pages = list(pages_in_view(user=request.user, hosts=request.GET.get("host", HOSTS_MINE)))
    hosts = team_hosts_for(user=request.user)
    form = MeetingFilterForm(request.GET, pages=pages, hosts=hosts)
    context = {"section": SECTION, "form": form, "pages": pages, "tab_labels": TAB_LABELS}
    if not form.is_valid():
        return render(request, "booking/meetings/list.html", context, status=400)
    filters = form.filters()
    zone_name = request.user.time_zone
    bookings = meetings_filtered(user=request.user, filters=filters, time_zone=zone_name)
    count = meetings_count(user=request.user, filters=filters, time_zone=zone_name)
    paginator = Paginator(bookings.values_list("pk", flat=True), PER_PAGE)
    paginator.count = count  # counted from the index (booking.meeting_selectors)
    result_page = paginator.get_page(request.GET.get("page"))
    shown = meetings_by_ids(ids=list(result_page.object_list))
    standings = calendar_standings(bookings=shown)
    zone = ZoneInfo(zone_name)
    others = filters.hosts != HOSTS_MINE
    rows = [
        _row(
            booking,
            standings[booking.pk],
            zone,
            hosted_by_other=others and booking.host_id != request.user.pk,
        )
        for booking in shown
    ]
    query = _filter_query(form)
    context.update(
        {
            "filters": filters,
            "tab": filters.tab,
            "tabs": _tabs(request, filters, count, query),
            "days": group_by_day(items=rows, time_zone=zone_name),
            "result_page": result_page,
            "paginator": paginator,
            "page_query": urlencode({**query, "tab": filters.tab.value}),
            "export_url": reverse("meetings:export")
            + "?"
            + urlencode({**query, "tab": filters.tab.value}),
            "filtered": any(query.values()),
            "others": others,
            "has_any": count > 0 or bookings_visible_to(user=request.user).exists(),
            "page_links": [
                (page, settings.SITE_URL + reverse("booking:page", args=[page.slug]))
                for page in pages
                if page.is_active and page.host_id == request.user.pk
            ],
        }
    )
    return render(request, "booking/meetings/list.html", context)


def _filter_query(form: MeetingFilterForm) -> dict[str, str]:
    """The filters (not the tab or the page of results) as they go in a URL."""
    data = form.cleaned_data
    values = {
        "host": data.get("host") or "",
        "booking_page": data.get("booking_page") or "",
        "from": data["from"].isoformat() if data.get("from") else "",
        "to": data["to"].isoformat() if data.get("to") else "",
        "q": data.get("q") or "",
    }
    return {key: str(value) for key, value in values.items() if value}


def _tabs(request: HttpRequest, filters, count: int, query: dict[str, str]) -> list[dict]:
    """The three tabs with a badge each: the shown tab's exact count (it pages the list),
    the others' counted up to ``OTHER_TAB_COUNT_CAP`` ("1000+" beyond), same filters."""
    tabs = []
    for tab in Tab:
        shown, capped = count, False
        if tab != filters.tab:
            shown = meetings_count_capped(
                user=request.user,
                filters=replace(filters, tab=tab),
                time_zone=request.user.time_zone,
                cap=OTHER_TAB_COUNT_CAP,
            )
            capped = shown > OTHER_TAB_COUNT_CAP
        tabs.append(
            {
                "tab": tab,
                "label": TAB_LABELS[tab],
                "count": OTHER_TAB_COUNT_CAP if capped else shown,
                "capped": capped,
                "url": reverse("meetings:list") + "?" + urlencode({**query, "tab": tab.value}),
                "current": tab == filters.tab,
            }
        )
    return tabs


@login_required
@require_safe
def meeting_export(request: HttpRequest) -> HttpResponse:
    """``/setup/meetings/export.csv`` with the list's filters: every matching row, streamed."""
    pages = list(pages_in_view(user=request.user, hosts=request.GET.get("host", HOSTS_MINE)))
    form = MeetingFilterForm(request.GET, pages=pages, hosts=team_hosts_for(user=request.user))
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
        return HttpResponse(
            _("Bad filters: %(errors)s") % {"errors": errors},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return export_response(user=request.user, filters=form.filters())


@login_required
@require_safe
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _meeting_or_404(request, pk)
    now = timezone.now()
    zone = ZoneInfo(request.user.time_zone)
    standing = calendar_standings(bookings=[booking])[booking.pk]
    may_act = _may_act(request, booking)
    changeable = may_act and booking.is_confirmed and booking.start > now
    context = {
        "section": SECTION,
        "booking": booking,
        "row": _row(booking, standing, zone),
        "invitee_start": booking.start.astimezone(ZoneInfo(booking.invitee_time_zone)),
        "invitee_end": booking.end.astimezone(ZoneInfo(booking.invitee_time_zone)),
        "changes": list(booking.changes.all()),
        "pushes": pushes_of(booking=booking),
        "reminders": list(booking.reminders.order_by("booking_version", "-offset_minutes")),
        "can_cancel": changeable,
        "can_ask_reschedule": changeable,
        "can_mark_no_show": may_act and booking.is_confirmed and booking.start <= now,
        "hosted_by_other": not may_act,
        "cancel_form": HostCancelForm(),
        "ask_form": AskRescheduleForm(),
    }
    return render(request, "booking/meetings/detail.html", context)


def _carry_out(
    request: HttpRequest,
    booking: Booking,
    action: Callable[[], object],
    done: str,
    *,
    undo: Callable[[], object] | None = None,
) -> HttpResponse:
    """Run one host action on ``booking`` and say how it went: already cancelled as a note,
    the service's refusal (``BookingNotChangeable``, after ``undo()`` if given) as an error,
    else ``done``. Back to the meeting."""
    try:
        action()
    except AlreadyCancelled:
        messages.info(request, _("This meeting is already cancelled."))
    except BookingNotChangeable as refused:
        if undo is not None:
            undo()
        messages.error(request, refused.message)
    else:
        messages.success(request, done)
    return redirect("meetings:detail", booking.pk)


def _action_form(
    request: HttpRequest, booking: Booking, form, template: str, *, status: int
) -> HttpResponse:
    context = {"section": SECTION, "booking": booking, "form": form}
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _meeting_or_404(request, pk, to_act=True)
    form = HostCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():

        def cancel() -> None:
            meeting_cancel(booking=booking, reason=form.cleaned_data["reason"])

        done = _("Cancelled. %(name)s gets an email, and the time can be booked again.")
        return _carry_out(request, booking, cancel, done % {"name": booking.invitee_name})
    status = 400 if request.method == "POST" else 200
    if not booking.is_confirmed and request.method == "GET":
        messages.info(request, _("This meeting is already cancelled."))
        return redirect("meetings:detail", booking.pk)
    return _action_form(request, booking, form, "booking/meetings/cancel.html", status=status)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_ask_reschedule_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The form, and sending it: at most once per ``ASK_RESCHEDULE_EVERY`` per meeting
    (sooner is a 429 that says when, with the note kept in the form)."""
    booking = _meeting_or_404(request, pk, to_act=True)
    form = AskRescheduleForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        turn = f"ask-reschedule:{booking.pk}"
        wait = turn_take(turn, every=ASK_RESCHEDULE_EVERY, now=timezone.now().timestamp())
        if wait is None:

            def ask() -> None:
                meeting_ask_reschedule(booking=booking, note=form.cleaned_data["note"])

            asked = _("%(name)s gets an email with a link to pick another time.")
            done = asked % {"name": booking.invitee_name}
            return _carry_out(request, booking, ask, done, undo=lambda: turn_give_back(turn))
        form.add_error(None, _ask_again_in(booking, wait))
        status = 429
    elif request.method == "POST":
        status = 400
    template = "booking/meetings/ask_reschedule.html"
    response = _action_form(request, booking, form, template, status=status)
    if status == 429:
        response["Retry-After"] = str(wait)
    return response


def _ask_again_in(booking: Booking, wait: int) -> str:
    minutes = -(-wait // 60)  # rounded up: "in 1 minute" for the last few seconds
    return ngettext(
        "%(name)s was already asked to pick another time in the last %(every)d minutes. "
        "You can ask again in %(minutes)d minute.",
        "%(name)s was already asked to pick another time in the last %(every)d minutes. "
        "You can ask again in %(minutes)d minutes.",
        minutes,
    ) % {"name": booking.invitee_name, "every": ASK_RESCHEDULE_EVERY // 60, "minutes": minutes}


@login_required
@require_POST
def meeting_no_show_view(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _meeting_or_404(request, pk, to_act=True)
    no_show = request.POST.get("undo") != "1"
    return _carry_out(
        request,
        booking,
        lambda: meeting_set_no_show(booking=booking, no_show=no_show),
        _("Marked as a no-show.") if no_show else _("No longer marked as a no-show."),
    )


@login_required
@require_POST
def meeting_push_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """**Retry** the failed calendar update of this meeting."""
    booking = _meeting_or_404(request, pk, to_act=True)
    rows = PushedEvent.objects.filter(source=booking.mirror_source, state=PushState.FAILED)
    states = [
        pushed_event_retry(pushed_event_id=row_pk, host=booking.host)
        for row_pk in rows.values_list("pk", flat=True)
    ]
    if PushState.PENDING in states:
        messages.success(request, _("Trying again: your calendar is updated in a moment."))
    elif PushState.WAITING in states:
        messages.info(
            request,
            _("Your calendar account is disconnected: this goes out once you reconnect it."),
        )
    else:
        messages.info(request, _("Nothing is waiting for a retry."))
    next_url = request.POST.get("next", "")
    if next_url.startswith(reverse("meetings:list")) and "//" not in next_url:
        return redirect(next_url)
    return redirect("meetings:detail", booking.pk)
