"""Setup → Booking pages: list, create, edit, duplicate, disable, delete, calendars.

Every view works on the logged-in host's own pages only; another host's page
answers 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from booking.forms import PageCalendarsForm, PageEditor, WorkingHoursEditor
from booking.models import BookingPage, LocationKind
from booking.selectors import (
    host_calendars,
    member_weekly_ranges,
    members_without_teams,
    page_editable_by,
    page_for_host,
    pages_for_host,
    teams_meeting_possible,
    upcoming_bookings_of_page,
)
from booking.services.pages import page_calendars_set, page_delete, page_duplicate, page_set_active
from booking.services.teams import member_hours_set
from calendars.selectors import connection_live_for


def public_link(page: BookingPage) -> str:
    return settings.SITE_URL + reverse("booking:page", args=[page.slug])


def _own_page(request: HttpRequest, pk: int) -> BookingPage:
    page = page_for_host(host=request.user, pk=pk)
    if page is None:
        raise Http404("No such booking page.")
    return page


@login_required
def setup_home(request: HttpRequest) -> HttpResponse:
    """Setup → Getting started: the three steps, each saying whether it is done yet."""
    pages = [page for page in pages_for_host(host=request.user) if not page.team_kind]
    taking = [page for page in pages if page.is_active]
    return render(
        request,
        "setup/home.html",
        {
            "section": "home",
            "connection": connection_live_for(host=request.user),
            "page_count": len(pages),
            "share_link": public_link(taking[0]) if taking else "",
        },
    )


@login_required
def page_list(request: HttpRequest) -> HttpResponse:
    """Setup → Booking pages."""
    pages = [
        {"page": page, "link": public_link(page)} for page in pages_for_host(host=request.user)
    ]
    return render(
        request,
        "booking/page_list.html",
        {
            "section": "pages",
            "pages": pages,
            "connected": connection_live_for(host=request.user) is not None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def page_create_view(request: HttpRequest) -> HttpResponse:
    editor = PageEditor(host=request.user, data=request.POST or None)
    if request.method == "POST" and editor.is_valid():
        page = editor.save()
        ready = _("“%(title)s” is ready. Share its link: %(link)s")
        messages.success(request, ready % {"title": page.title, "link": public_link(page)})
        return redirect("pages:edit", page.pk)
    return _render_editor(request, editor, status=400 if request.method == "POST" else 200)


@login_required
@require_http_methods(["GET", "POST"])
def page_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    # Hours, questions and details: a team page's are any admin's of its organization.
    page = page_editable_by(user=request.user, pk=pk)
    if page is None:
        raise Http404("No such booking page.")
    editor = PageEditor(host=request.user, page=page, data=request.POST or None)
    if request.method == "POST" and editor.is_valid():
        editor.save()
        messages.success(request, _("Your booking page was saved."))
        return redirect("pages:edit", page.pk)
    return _render_editor(request, editor, status=400 if request.method == "POST" else 200)


def _render_editor(request: HttpRequest, editor: PageEditor, *, status: int) -> HttpResponse:
    page = editor.page
    if page is not None and editor.form.is_bound:
        # Validating wrote the refused values (a slug with a slash, say) into the
        # instance: the heading and link show what is saved.
        page.refresh_from_db()
    context = {
        "section": "team" if page is not None and page.team_kind else "pages",
        "editor": editor,
        "page": page,
        "link_prefix": settings.SITE_URL + "/book/",
        "link": public_link(page) if page else "",
        "embed": embed_snippets(page) if page else None,
        "teams_unavailable": page is not None
        and not page.team_kind
        and not teams_meeting_possible(page=page),
        # A team page's members whose calendars cannot make the Teams meetings it offers.
        "members_without_teams": [
            user.get_full_name() or user.email
            for user in (members_without_teams(page=page) if page is not None else [])
        ],
    }
    return render(request, "booking/page_form.html", context, status=status)


def embed_snippets(page) -> dict[str, str]:
    """What a host pastes into their site: an inline frame, or a pop-up button."""
    link = public_link(page)
    script = settings.SITE_URL + static("js/embed.js")
    title = _("Book a meeting with %(host)s") % {"host": page.host.get_full_name()}
    return {
        "inline": (
            f'<iframe data-scheduleonce src="{link}?embed=1" title="{escape(title)}" '
            f'style="width:100%;height:700px;border:0"></iframe>\n'
            f'<script src="{script}" async></script>'
        ),
        "popup": (
            f'<button type="button" data-scheduleonce-popup="{link}">{escape(title)}</button>\n'
            f'<script src="{script}" async></script>'
        ),
    }


@login_required
@require_POST
def page_duplicate_view(request: HttpRequest, pk: int) -> HttpResponse:
    copy = page_duplicate(page=_own_page(request, pk))
    duplicated = _("Duplicated as “%(title)s”. It is disabled until you enable it.")
    messages.success(request, duplicated % {"title": copy.title})
    return redirect("pages:edit", copy.pk)


@login_required
@require_POST
def page_toggle_view(request: HttpRequest, pk: int) -> HttpResponse:
    page = _own_page(request, pk)
    page_set_active(page=page, active=not page.is_active)
    if page.is_active:
        done = _("“%(title)s” is taking bookings again.")
    else:
        done = _("“%(title)s” is disabled; its link now says it is not taking bookings.")
    messages.success(request, done % {"title": page.title})
    return redirect("pages:list")


@login_required
@require_http_methods(["GET", "POST"])
def page_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    page = _own_page(request, pk)
    if request.method == "POST":
        title = page.title
        page_delete(page=page)
        messages.success(request, _("“%(title)s” was deleted.") % {"title": title})
        return redirect("pages:list")
    upcoming = upcoming_bookings_of_page(page=page, now=timezone.now()).count()
    return render(
        request,
        "booking/page_confirm_delete.html",
        {"section": "pages", "page": page, "upcoming": upcoming},
    )


@login_required
@require_http_methods(["GET", "POST"])
def page_calendars_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Setup → Booking page → Associated calendars."""
    page = _own_page(request, pk)
    calendars = list(host_calendars(host=request.user))
    form = PageCalendarsForm(request.POST or None, page=page, calendars=calendars)
    if request.method == "POST" and calendars and form.is_valid():
        try:
            page_calendars_set(page=page, main_calendar=form.main(), uses=form.uses())
        except ValueError:
            # The calendar list changed between reading the form and saving it
            # (refreshed, or the account disconnected in the meantime).
            messages.error(
                request,
                _(
                    "Your calendar list changed while you were choosing, so nothing was saved. "
                    "Check the calendars below and save again."
                ),
            )
            return redirect("pages:calendars", page.pk)
        messages.success(request, _("The calendars of this page were saved."))
        return redirect("pages:calendars", page.pk)
    connection = connection_live_for(host=request.user)
    return render(
        request,
        "booking/page_calendars.html",
        {
            "section": "pages",
            "page": page,
            "form": form,
            "connection": connection,
            "teams_page": page.location_kind == LocationKind.TEAMS,
        },
        status=400 if request.method == "POST" and calendars else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def working_hours_view(request: HttpRequest) -> HttpResponse:
    """Setup → Working hours: the person's own weekly hours in their own time zone, which
    team pages that use members' hours offer."""
    editor = WorkingHoursEditor(
        user=request.user,
        ranges=member_weekly_ranges(user=request.user),
        data=request.POST or None,
    )
    if request.method == "POST" and editor.is_valid():
        member_hours_set(user=request.user, hours=editor.hours_rows())
        messages.success(request, _("Your working hours were saved."))
        return redirect("pages:working_hours")
    context = {"section": "working_hours", "editor": editor}
    status = 400 if request.method == "POST" else 200
    return render(request, "booking/working_hours.html", context, status=status)
