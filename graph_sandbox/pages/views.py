"""The people page: mailboxes, their calendars and events, and a few hands-on controls.

A person checks here that a booking arrived "with the relevant alert" (time,
attendees, reminder, location, meeting link), adds or removes busy time, and
revokes a user's grants. Plain http under ``/graph-sandbox/`` of the web
server; forms are POSTed with CSRF protection.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from graph_sandbox import store
from graph_sandbox.clock import clock_offset, sandbox_now
from graph_sandbox.graph.events import event_insert, event_remove
from graph_sandbox.graph.series import event_type, occurrence_find, view_items
from graph_sandbox.identity import tokens
from graph_sandbox.models import (
    Calendar,
    CalendarAccess,
    Consent,
    DeliveryRule,
    Event,
    FaultRule,
    Mailbox,
    RefreshToken,
)
from graph_sandbox.pages.forms import BusyEventForm, WindowForm
from graph_sandbox.pages.notifications import ACTIONS, recent_deliveries, subscriptions_shown
from graph_sandbox.subscriptions.services import (
    lifetime_cap_minutes,
    reauthorization_demand_after_revocation,
)

DEFAULT_DAYS = 14  # days of events shown from today


@require_GET
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mailboxes = Mailbox.objects.select_related("tenant").order_by("-kind", "display_name")
    return render(
        request,
        "graph_sandbox/mailbox_list.html",
        {
            "mailboxes": mailboxes,
            "now": sandbox_now(),
            "offset": clock_offset(),
            "fault_rules": FaultRule.objects.count(),
            "concurrency": store.state().mailbox_concurrency,
            "lifetime_cap": lifetime_cap_minutes(),
            "deliveries_paused": store.state().delivery_paused,
            "delivery_rules": DeliveryRule.objects.count(),
        },
    )


@require_GET
def mailbox_detail(request: HttpRequest, address: str) -> HttpResponse:
    mailbox = _mailbox(address)
    return _detail(request, mailbox, event_form=_event_form(mailbox))


@require_POST
def event_add(request: HttpRequest, address: str) -> HttpResponse:
    mailbox = _mailbox(address)
    form = _event_form(mailbox, data=request.POST)
    if not form.is_valid():
        return _detail(request, mailbox, event_form=form, status=400)
    start, end = form.window()
    event_insert(
        calendar=form.cleaned_data["calendar"],
        subject=form.cleaned_data["subject"],
        start=start,
        end=end,
        show_as=form.cleaned_data["show_as"],
        time_zone=mailbox.time_zone,
        recurrence=form.recurrence(),
    )
    today = sandbox_now().astimezone(start.tzinfo).date()
    if today <= start.date() < today + timedelta(days=DEFAULT_DAYS):
        return redirect(_detail_url(mailbox, done="added"))
    return redirect(_detail_url(mailbox, start=start.date().isoformat(), done="added"))


@require_POST
def event_remove_view(request: HttpRequest, address: str, event_id: str) -> HttpResponse:
    mailbox = _mailbox(address)
    owned = Event.objects.filter(calendar__owner=mailbox)
    event = owned.filter(graph_id=event_id, deleted=False).first() or occurrence_find(
        owned, event_id
    )
    if event is None:
        raise Http404("No such event in this mailbox (it may have been removed already).")
    if request.POST.get("series") and event_type(event) in ("occurrence", "exception"):
        event = getattr(event, "occurrence_of", None) or event.series_master
        if event.deleted:
            raise Http404("No such event in this mailbox (it may have been removed already).")
    event_remove(event=event)
    return redirect(_detail_url(mailbox, done="removed"))


@require_POST
def grants_revoke(request: HttpRequest, address: str) -> HttpResponse:
    mailbox = _mailbox(address)
    tokens.grants_revoke(mailbox=mailbox)
    reauthorization_demand_after_revocation(mailbox=mailbox)
    return redirect(_detail_url(mailbox, done="revoked"))


@require_GET
def meeting(request: HttpRequest, token: str) -> HttpResponse:
    event = Event.objects.filter(join_url__endswith=f"/meet/{token}/", deleted=False).first()
    if event is None:
        raise Http404("No meeting has this link.")
    return render(request, "graph_sandbox/meeting.html", {"event": event})


# --- helpers ------------------------------------------------------------------------------


def _detail(
    request: HttpRequest, mailbox: Mailbox, *, event_form: BusyEventForm, status: int = 200
) -> HttpResponse:
    zone = ZoneInfo(mailbox.time_zone)
    today = sandbox_now().astimezone(zone).date()
    bound = "start" in request.GET
    window = WindowForm(
        request.GET if bound else None, initial={"start": today, "days": DEFAULT_DAYS}
    )
    if window.is_bound and not window.is_valid():
        status = 400
        start_date, days = today, DEFAULT_DAYS
    elif window.is_bound:
        start_date, days = window.cleaned_data["start"], window.cleaned_data["days"]
    else:
        start_date, days = today, DEFAULT_DAYS
    start = datetime.combine(start_date, datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=days)
    return render(
        request,
        "graph_sandbox/mailbox_detail.html",
        {
            "mailbox": mailbox,
            "calendars": _calendars(mailbox, start, end),
            "window": window,
            "window_start": start,
            "window_end": end,
            "event_form": event_form,
            "grants": _grants(mailbox),
            "subscriptions": subscriptions_shown(mailbox),
            "deliveries": recent_deliveries(mailbox),
            "subscription_actions": ACTIONS,
            "done": request.GET.get("done", ""),
            "now": sandbox_now(),
        },
        status=status,
    )


def _calendars(mailbox: Mailbox, start: datetime, end: datetime) -> list[dict]:
    zone = ZoneInfo(mailbox.time_zone)
    result = []
    for access in CalendarAccess.objects.filter(mailbox=mailbox).select_related("calendar__owner"):
        calendar = access.calendar
        owned = calendar.owner_id == mailbox.pk
        result.append(
            {
                "access": access,
                "owned": owned,
                "events": [
                    _event_row(e, zone, removable=owned) for e in view_items(calendar, start, end)
                ],
            }
        )
    return result


def _event_row(event: Event, zone: ZoneInfo, *, removable: bool) -> dict:
    return {
        "event": event,
        "start": event.start.astimezone(zone),
        "end": event.end.astimezone(zone),
        "reminder": _reminder_text(event),
        "removable": removable,
        "in_series": event_type(event) in ("occurrence", "exception"),
    }


def _reminder_text(event: Event) -> str:
    if not event.is_reminder_on:
        return "No reminder"
    minutes = event.reminder_minutes
    if minutes == 0:
        return "Reminder at the start time"
    for size, unit in ((10080, "week"), (1440, "day"), (60, "hour")):
        if minutes % size == 0:
            count = minutes // size
            return f"Reminder {count} {unit}{'s' if count != 1 else ''} before"
    return f"Reminder {minutes} minute{'s' if minutes != 1 else ''} before"


def _grants(mailbox: Mailbox) -> list[dict]:
    now = sandbox_now()
    live = RefreshToken.objects.filter(mailbox=mailbox, revoked_at__isnull=True, expires_at__gt=now)
    if mailbox.tokens_valid_from:
        live = live.filter(issued_at__gte=mailbox.tokens_valid_from)
    return [
        {
            "app": consent.app,
            "scopes": consent.scopes,
            "granted_at": consent.granted_at,
            "live_refresh_tokens": live.filter(app=consent.app).count(),
        }
        for consent in Consent.objects.filter(mailbox=mailbox).select_related("app")
    ]


def _event_form(mailbox: Mailbox, data=None) -> BusyEventForm:
    today = sandbox_now().astimezone(ZoneInfo(mailbox.time_zone)).date()
    return BusyEventForm(
        data,
        calendars=Calendar.objects.filter(owner=mailbox).order_by("-is_default", "name"),
        time_zone=mailbox.time_zone,
        initial={"date": today + timedelta(days=1), "start_time": "10:00", "end_time": "11:00"},
    )


def _mailbox(address: str) -> Mailbox:
    mailbox = Mailbox.objects.filter(address__iexact=address).first()
    if mailbox is None:
        raise Http404("No mailbox has this address.")
    return mailbox


def _detail_url(mailbox: Mailbox, **query: str) -> str:
    if "start" in query:
        query.setdefault("days", str(DEFAULT_DAYS))
    return reverse("graph_sandbox:mailbox", args=[mailbox.address]) + "?" + urlencode(query)
