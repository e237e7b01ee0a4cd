"""Setup → Team (namespace ``team``): an organization's people, their calendar health,
invitations, roles, removals and team pages. Admins only: anyone else gets 403, and
ids of another organization's members, invitations or pages answer 404.

An admin sees each member's connection as facts (account, expiry, last sync, failed
pushes); never a token, and never a way to act with another member's account.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Membership, Organization, Role
from accounts.selectors import (
    former_members_of,
    invitation_of,
    member_of,
    members_of,
    membership_of,
    pending_invitations_of,
)
from accounts.services import (
    OrganizationError,
    invitation_create,
    invitation_expires_at,
    invitation_resend,
    invitation_revoke,
    member_remove,
    member_set_role,
    organization_update,
)
from booking.models import BookingPage
from booking.selectors import (
    members_with_live_calendar,
    members_without_teams,
    team_pages_by_member,
    team_seats_for,
)
from booking.services.teams import (
    TeamPageError,
    team_hours_source_set,
    team_page_create,
    team_seats_set,
)
from booking.team_forms import InviteForm, OrganizationForm, RoleForm, TeamPageForm
from booking.team_health import (
    FailedWords,
    HealthWords,
    connection_health,
    failed_pushes_health,
)
from calendars.models import CalendarConnection
from calendars.selectors import connection_latest_for


def admin_required(view: Callable) -> Callable:
    """Logged in, and an admin of an organization (passed on as ``organization``)."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        membership = membership_of(user=request.user)
        if membership is None or not membership.is_admin:
            raise PermissionDenied(_("Only the organization's admins can open Team."))
        return view(request, membership.organization, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class MemberHealth:
    membership: Membership
    connection: CalendarConnection | None
    last_synced_at: datetime | None
    failed_pushes: int
    health: HealthWords
    failed: FailedWords | None
    pages: list[BookingPage]
    team_pages: list[BookingPage]


def _health(
    membership: Membership, team_pages: dict[int, list[BookingPage]], *, time_zone: str
) -> MemberHealth:
    """``membership``'s member as an admin in ``time_zone`` sees them."""
    user = membership.user
    name = user.get_full_name() or user.email
    connection = connection_latest_for(host=user)
    last_synced = None
    if connection is not None:
        last_synced = connection.calendars.aggregate(last=Max("last_synced_at"))["last"]
    failed = failed_pushes_health(connection=connection, name=name)
    return MemberHealth(
        membership=membership,
        connection=connection,
        last_synced_at=last_synced,
        failed_pushes=failed.count if failed else 0,
        health=connection_health(connection=connection, name=name, time_zone=time_zone),
        failed=failed,
        pages=list(BookingPage.objects.filter(host=user, team_kind="").order_by("title", "pk")),
        team_pages=team_pages.get(user.pk, []),
    )


def _team_pages(organization: Organization) -> list[BookingPage]:
    return list(
        BookingPage.objects.filter(organization=organization)
        .exclude(team_kind="")
        .order_by("title", "pk")
    )


@admin_required
def team_home(request: HttpRequest, organization: Organization) -> HttpResponse:
    return _render_home(request, organization)


def _team_page_item(page: BookingPage) -> dict:
    """A team page on Team, with its members whose Office 365 is not connected now (a
    round-robin page gives them no meetings while another member's is; a collective page
    cannot see their busy time)."""
    seats = team_seats_for(page=page)
    live = members_with_live_calendar(user_ids=[seat.user_id for seat in seats])
    return {
        "page": page,
        "seats": seats,
        "link": _public_link(page),
        "not_connected": [seat.user for seat in seats if seat.user_id not in live],
        "anyone_connected": bool(live),
    }


def _render_home(request, organization, *, invite_form=None, org_form=None, status=200):
    invitations = [
        {"invitation": i, "expires_at": invitation_expires_at(i)}
        for i in pending_invitations_of(organization=organization)
    ]
    team_pages = [_team_page_item(page) for page in _team_pages(organization)]
    seats = team_pages_by_member(organization_id=organization.pk)
    context = {
        "section": "team",
        "organization": organization,
        "members": [
            _health(m, seats, time_zone=request.user.time_zone)
            for m in members_of(organization=organization)
        ],
        "former": former_members_of(organization=organization),
        "invitations": invitations,
        "team_pages": team_pages,
        "invite_form": invite_form or InviteForm(),
        "org_form": org_form
        or OrganizationForm(
            initial={
                "name": organization.name,
                "require_two_factor": organization.require_two_factor,
            }
        ),
        "role_form": RoleForm(),
    }
    return render(request, "booking/team/home.html", context, status=status)


def _public_link(page: BookingPage) -> str:
    return settings.SITE_URL + reverse("booking:page", args=[page.slug])


@admin_required
@require_POST
def invite(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = invitation_create(
                organization=organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except OrganizationError as refused:
            form.add_error("email", refused.message)
        else:
            messages.success(
                request,
                _("An invitation was sent to %(email)s. The link works for 7 days.")
                % {"email": invitation.email},
            )
            return redirect("team:home")
    return _render_home(request, organization, invite_form=form, status=400)


def _own_invitation(organization: Organization, pk: int):
    invitation = invitation_of(organization=organization, pk=pk)
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def _carry_out(request: HttpRequest, action: Callable[[], object], done: str) -> HttpResponse:
    """Run one admin action on a member or an invitation and say how it went: the
    service's own refusal (``OrganizationError``) as an error, else ``done``. Back to Team,
    or to Setup's home for an admin who just stepped down or left (Team is not theirs now)."""
    try:
        action()
    except OrganizationError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, done)
    membership = membership_of(user=request.user)
    return redirect("team:home" if membership and membership.is_admin else "setup:home")


def _on_invitation(
    request: HttpRequest,
    organization: Organization,
    pk: int,
    action: Callable[..., object],
    done: str,
) -> HttpResponse:
    """``action(invitation=…)`` on the organization's invitation ``pk`` (404 if it is
    not one), said as ``done`` with the invitation's ``%(email)s``."""
    invitation = _own_invitation(organization, pk)
    return _carry_out(
        request, lambda: action(invitation=invitation), done % {"email": invitation.email}
    )


@admin_required
@require_POST
def invitation_resend_view(request: HttpRequest, organization: Organization, pk: int):
    done = _("A new link was sent to %(email)s; the old one no longer works.")
    return _on_invitation(request, organization, pk, invitation_resend, done)


@admin_required
@require_POST
def invitation_revoke_view(request: HttpRequest, organization: Organization, pk: int):
    done = _("The invitation of %(email)s was withdrawn.")
    return _on_invitation(request, organization, pk, invitation_revoke, done)


def _own_member(organization: Organization, pk: int) -> Membership:
    membership = member_of(organization=organization, pk=pk)
    if membership is None:
        raise Http404("No such member.")
    return membership


@admin_required
@require_POST
def member_role_view(request: HttpRequest, organization: Organization, pk: int):
    membership = _own_member(organization, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("team:home")
    role = form.cleaned_data["role"]
    return _carry_out(
        request,
        lambda: member_set_role(membership=membership, role=role),
        _("%(name)s is now %(role)s.")
        % {"name": membership.user.get_full_name(), "role": Role(role).label},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def member_remove_view(request: HttpRequest, organization: Organization, pk: int):
    membership = _own_member(organization, pk)
    if request.method == "POST":
        return _carry_out(
            request,
            lambda: member_remove(membership=membership),
            _(
                "%(name)s was removed. Their pages no longer take bookings; bookings "
                "already made stay."
            )
            % {"name": membership.user.get_full_name()},
        )
    health = _health(
        membership,
        team_pages_by_member(organization_id=organization.pk),
        time_zone=request.user.time_zone,
    )
    return render(
        request,
        "booking/team/remove.html",
        {"section": "team", "health": health, "organization": organization},
    )


@admin_required
@require_POST
def organization_view(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = OrganizationForm(request.POST)
    if not form.is_valid():
        return _render_home(request, organization, org_form=form, status=400)
    organization_update(
        organization=organization,
        name=form.cleaned_data["name"],
        require_two_factor=form.cleaned_data["require_two_factor"],
    )
    messages.success(request, _("The organization's settings were saved."))
    return redirect("team:home")


@admin_required
@require_http_methods(["GET", "POST"])
def team_page_create_view(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = TeamPageForm(request.POST or None, members=members_of(organization=organization))

    def save() -> str:
        data = form.cleaned_data
        page = team_page_create(
            admin=request.user,
            organization=organization,
            kind=data["kind"],
            fields={
                "title": data["title"],
                "slug": data["slug"],
                "duration_minutes": data["duration_minutes"],
                "hours_source": data["hours_source"],
            },
            seats=form.seats(),
        )
        return _("“%(title)s” is ready. Share its link: %(link)s") % {
            "title": page.title,
            "link": _public_link(page),
        }

    return _team_page_form(request, form, page=None, save=save)


@admin_required
@require_http_methods(["GET", "POST"])
def team_page_members_view(request: HttpRequest, organization: Organization, pk: int):
    page = (
        BookingPage.objects.filter(organization=organization, pk=pk).exclude(team_kind="").first()
    )
    if page is None:
        raise Http404("No such team page.")
    seats = {seat.user_id: seat for seat in page.team_members.all()}
    form = TeamPageForm(
        request.POST or None,
        members=members_of(organization=organization),
        with_page_fields=False,
        initial_seats=seats,
        initial={"hours_source": page.hours_source},
    )

    def save() -> str:
        team_seats_set(page=page, seats=form.seats())
        team_hours_source_set(page=page, source=form.cleaned_data["hours_source"])
        return _("The members of “%(title)s” were saved.") % {"title": page.title}

    return _team_page_form(request, form, page=page, save=save)


def _team_page_form(
    request: HttpRequest,
    form: TeamPageForm,
    *,
    page: BookingPage | None,
    save: Callable[[], str],
) -> HttpResponse:
    """The one handling of a team page's form (new page, or its members): on a valid POST
    ``save()`` runs and its message is shown on Team; a refusal of the service or of the
    page's own checks (a taken link, say) lands on the form, which answers 400. A GET shows
    the form (200)."""
    if request.method == "POST" and form.is_valid():
        try:
            done = save()
        except TeamPageError as refused:
            form.add_error(None, refused.message)
        except ValidationError as refused:
            for field, problems in refused.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, done)
            return redirect("team:home")
    status = 400 if form.is_bound else 200
    without_teams = members_without_teams(page=page) if page is not None else []
    context = {
        "section": "team",
        "form": form,
        "page": page,
        "without_teams": {user.pk for user in without_teams},
    }
    return render(request, "booking/team/page_form.html", context, status=status)
