"""Setup → Integration → Calendar integration (the "calendar integration lobby")."""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from calendars.constants import REMINDER_CHOICES
from calendars.error_text import error_for_action
from calendars.forms import ReminderForm
from calendars.models import CalendarConnection, ConnectionStatus, PushedEvent, PushState
from calendars.providers import PROVIDERS, ProviderError, get_provider
from calendars.selectors import (
    connection_latest_for,
    live_updates_words,
    pushes_failed_for,
    pushes_unsettled_count,
)
from calendars.services.calendar_refresh import calendar_list_refresh
from calendars.services.connections import (
    ConnectionConflict,
    connection_complete,
    connection_disconnect,
    connection_set_reminder,
    connection_start,
)
from calendars.services.push_queue import pushed_event_retry
from calendars.services.subscriptions import notification_status_for
from calendars.sign_in_handoff import (
    HANDOFF_PARAM,
    handoff_collect,
    handoff_expect,
    handoff_park,
    request_origin,
    site_origin,
)
from calendars.sign_in_state import sign_in_consume, sign_in_remember

logger = logging.getLogger(__name__)

# Fields of an authorization response (form_post) that we pass on; nothing else is echoed.
OAUTH_FIELDS = (
    "code",
    "state",
    "error",
    "error_description",
    "error_uri",
    # Microsoft's detail of an error, e.g. "cancel" when the person pressed Cancel.
    "error_subcode",
    "client_info",
    "session_state",
)
RESUBMITTED = "resubmitted"


def _post_only(view):
    """Like ``require_POST``, but a person who lands here by GET (say, sent back after
    logging in again) gets a page that says what happened and leads back to the lobby."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            return view(request, *args, **kwargs)
        logger.info("Method not allowed (%s): %s", request.method, request.path)
        response = render(request, "calendars/post_only.html", {"section": "calendar"}, status=405)
        response["Allow"] = "POST"
        return response

    return wrapper


# Session key: the sign-in was started in a new tab (which closes itself when done).
SIGN_IN_TAB = "calendar_sign_in_new_tab"


def _lobby() -> HttpResponseRedirect:
    return redirect("calendars:integration")


def _lobby_context(*, host, reminder_form: ReminderForm | None = None) -> dict:
    latest = connection_latest_for(host=host)
    live = latest if latest is not None and latest.is_connected else None
    boxes = []
    for key in PROVIDERS:
        provider = get_provider(key)
        connection = latest if latest is not None and latest.provider == key else None
        boxes.append(
            {
                "key": key,
                "name": provider.name,
                "connection": connection,
                "connect_url": reverse(f"calendars:{key}_connect"),
                "blocked_by": live if live is not None and live.provider != key else None,
            }
        )
    calendars = list(live.calendars.filter(is_active=True)) if live else []
    if live is not None and reminder_form is None:
        value = live.default_reminder_minutes
        reminder_form = ReminderForm(initial={"reminder": "" if value is None else str(value)})
    version = f"{latest.pk}:{latest.status}:{latest.updated_at.timestamp()}" if latest else "none"
    return {
        "section": "calendar",
        "boxes": boxes,
        "live": live,
        "latest": latest,
        "calendars": calendars,
        "reminder_form": reminder_form,
        "reminder_labels": dict(REMINDER_CHOICES),
        "connection_version": version,
        "live_updates": _live_updates(live, calendars, host=host),
        "failed_pushes": pushes_failed_for(connection=latest),
        "unsettled_pushes": pushes_unsettled_count(connection=latest),
    }


def _live_updates(live: CalendarConnection | None, calendars: list, *, host) -> dict | None:
    """Change notifications of the live account, for Setup's calendar list (None: unused)."""
    if live is None:
        return None
    busy = any(calendar.busy_horizon_days > 0 for calendar in calendars)
    status = notification_status_for(connection=live, busy=busy)
    if status.state == "unused":
        return None
    return {
        "state": status.state,
        "text": live_updates_words(
            status, provider=get_provider(live.provider), time_zone=host.time_zone
        ),
        "short": LIVE_UPDATES_SHORT[status.state],
    }


# What each calendar whose busy time is read shows of the account's change notifications
# (one subscription watches every calendar of the account).
LIVE_UPDATES_SHORT = {
    "live": gettext_lazy("live updates on"),
    "pending": gettext_lazy("live updates starting"),
    "failing": gettext_lazy("live updates failing"),
    "off": gettext_lazy("live updates off"),
}


@login_required
@never_cache
def integration(request: HttpRequest) -> HttpResponse:
    """The lobby: a box per provider, the connected account, its calendars and reminder.

    ``?signed_in=1``: this is the tab the sign-in ran in; it tells the other Setup tabs
    (they reload) and closes itself, or offers the way back if the browser keeps it.
    """
    context = _lobby_context(host=request.user)
    context["sign_in_tab"] = request.GET.get("signed_in") == "1"
    return render(request, "calendars/integration.html", context)


@login_required
@_post_only
def connect(request: HttpRequest, provider_key: str) -> HttpResponse:
    """Start the provider's sign-in and send the browser there."""
    provider = get_provider(provider_key)
    # Always SITE_URL's: the redirect URI registered with Microsoft, whatever host name
    # Setup was reached under (real Microsoft refuses any other: AADSTS50011).
    redirect_uri = site_origin() + reverse(f"calendars:{provider_key}_callback")
    try:
        sign_in = connection_start(
            host=request.user,
            provider_key=provider_key,
            redirect_uri=redirect_uri,
            reconnect=request.POST.get("reconnect") == "1",
        )
    except ConnectionConflict as conflict:
        messages.error(request, str(conflict))
        return _lobby()
    except ProviderError as error:
        messages.error(request, error_for_action(error, provider=provider))
        return _lobby()
    sign_in_remember(
        request.session, sign_in=sign_in, provider_key=provider_key, host_id=request.user.pk
    )
    # Connect opens the sign-in in a new tab (the page's script says so with new_tab=1;
    # not for "use this tab instead"): that tab closes itself once connected (the
    # lobby's ``sign_in_tab``). Without the script it shows Setup, as before.
    request.session[SIGN_IN_TAB] = request.POST.get("new_tab") == "1"
    if request_origin(request) != site_origin():
        handoff_expect(state=sign_in.state, origin=request_origin(request))
    return HttpResponseRedirect(sign_in.url)


@csrf_exempt  # Microsoft posts here (form_post); the one-time state protects it instead.
@sensitive_post_parameters(*OAUTH_FIELDS)
@sensitive_variables("answer", "flow")
@never_cache
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest, provider_key: str) -> HttpResponse:
    """Where Microsoft sends the browser back after sign-in and consent."""
    provider = get_provider(provider_key)
    params = request.POST if request.method == "POST" else request.GET
    answer = {name: params[name] for name in OAUTH_FIELDS if name in params}
    if request.method == "POST":
        onward = handoff_park(answer=answer, here=request_origin(request), path=request.path)
        if onward is not None:
            # Started under another host name: its session is there. A page that moves
            # on by itself (a GET, which carries the SameSite=Lax cookie), not a redirect:
            # the sign-in page's own form-action might refuse a redirect elsewhere.
            context = {"onward": onward, "origin": urlsplit(onward).netloc}
            context["provider_name"] = provider.name
            return render(request, "calendars/callback_handoff.html", context)
    elif HANDOFF_PARAM in request.GET and request.user.is_authenticated:
        answer = handoff_collect(handle=request.GET[HANDOFF_PARAM]) or {}
    if not request.user.is_authenticated:
        if request.method == "POST" and RESUBMITTED not in params:
            # A cross-site POST carries no SameSite=Lax session cookie: post the same
            # fields again from our own origin, which does.
            return render(
                request,
                "calendars/callback_resubmit.html",
                {"fields": answer, "marker": RESUBMITTED, "provider_name": provider.name},
            )
        login_url = reverse("accounts:login") + "?next=" + reverse("calendars:integration")
        return render(
            request,
            "calendars/callback_logged_out.html",
            {"login_url": login_url, "provider_name": provider.name},
            status=403,
        )
    flow = sign_in_consume(
        request.session,
        state=answer.get("state", ""),
        provider_key=provider_key,
        host_id=request.user.pk,
    )
    if flow is None:
        messages.error(
            request,
            _(
                "This answer from %(provider)s does not belong to a sign-in you started here "
                "(it was already used, took too long, or came from elsewhere). Nothing was "
                "changed. Please connect again."
            )
            % {"provider": provider.name},
        )
        return _lobby()
    try:
        result = connection_complete(
            host=request.user, provider_key=provider_key, flow=flow, response=answer
        )
    except ConnectionConflict as conflict:
        nothing = _("Nothing was changed.")
        messages.error(request, f"{conflict} {nothing}")
    except ProviderError as error:
        logger.info("Sign-in with %s failed: %s", provider_key, error.code)
        messages.error(request, error_for_action(error, provider=provider))
    else:
        count = result.calendars
        messages.success(
            request,
            ngettext(
                "Connected %(provider)s as %(email)s: %(count)d calendar imported.",
                "Connected %(provider)s as %(email)s: %(count)d calendars imported.",
                count,
            )
            % {"provider": provider.name, "email": result.connection.account_email, "count": count},
        )
        if request.session.pop(SIGN_IN_TAB, False):
            return redirect(reverse("calendars:integration") + "?signed_in=1")
    return _lobby()


def _own_connection(request: HttpRequest, pk: int) -> CalendarConnection:
    return get_object_or_404(CalendarConnection, pk=pk, host=request.user)


@login_required
@_post_only
def reminder(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the connection's default reminder."""
    connection = _own_connection(request, pk)
    form = ReminderForm(request.POST)
    if not form.is_valid():
        context = _lobby_context(host=request.user, reminder_form=form)
        return render(request, "calendars/integration.html", context, status=400)
    minutes = form.cleaned_data["reminder"]
    connection_set_reminder(connection=connection, minutes=minutes)
    label = dict(REMINDER_CHOICES)[minutes]
    messages.success(request, _("Default reminder saved: %(label)s.") % {"label": label})
    return _lobby()


@login_required
@_post_only
def refresh_calendars(request: HttpRequest, pk: int) -> HttpResponse:
    """**Refresh calendar list**: re-import, keeping choices for calendars that remain."""
    connection = _own_connection(request, pk)
    provider = get_provider(connection.provider)
    if connection.status != ConnectionStatus.CONNECTED:
        messages.error(request, _("This calendar account is disconnected: reconnect it first."))
        return _lobby()
    try:
        count = calendar_list_refresh(connection=connection)
    except ProviderError as error:
        if error.permanent:
            messages.error(
                request,
                _(
                    "%(provider)s no longer accepts this connection, so it was disconnected. "
                    "Reconnect to continue."
                )
                % {"provider": provider.name},
            )
        else:
            messages.error(request, error_for_action(error, provider=provider))
        return _lobby()
    messages.success(
        request,
        ngettext(
            "Calendar list refreshed: %(count)d calendar.",
            "Calendar list refreshed: %(count)d calendars.",
            count,
        )
        % {"count": count},
    )
    return _lobby()


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (GET), then disconnect (POST): tokens removed, bookings and records kept."""
    connection = _own_connection(request, pk)
    provider = get_provider(connection.provider)
    if request.method == "GET":
        return render(
            request,
            "calendars/disconnect_confirm.html",
            {"section": "calendar", "connection": connection, "provider_name": provider.name},
        )
    if connection_disconnect(connection=connection):
        messages.success(
            request,
            _(
                "Disconnected %(provider)s (%(email)s). Your bookings are kept; new bookings "
                "are not added to a calendar until you connect one again."
            )
            % {"provider": provider.name, "email": connection.account_email},
        )
    return _lobby()


@login_required
@_post_only
def push_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """**Retry** a booking that could not be added to (or removed from) the calendar."""
    row = get_object_or_404(PushedEvent, pk=pk, host=request.user)
    state = pushed_event_retry(pushed_event_id=row.pk, host=request.user)
    if state == PushState.PENDING:
        messages.success(request, _("Trying again: the calendar is updated in a moment."))
    elif state == PushState.WAITING:
        messages.info(
            request,
            _(
                "This calendar account is disconnected: the booking goes to your calendar "
                "once you reconnect it."
            ),
        )
    else:
        messages.info(request, _("That booking is no longer waiting for a retry."))
    return _lobby()
