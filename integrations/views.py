"""Setup → Integration → Webhooks, and Setup → Profile → API tokens.

A new signing secret or API token is shown once, in the answer to the POST that
made it (never stored in the clear, never in a redirect's session); that answer is
not cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from integrations import selectors
from integrations.forms import SCOPE_ORGANIZATION, EndpointEditForm, EndpointForm, TokenForm
from integrations.models import TEAM_EVENTS, EventType, WebhookDelivery
from integrations.outbound import UnsafeTarget
from integrations.scope import organization_for_endpoints
from integrations.tokens import token_create, token_revoke
from integrations.webhooks import (
    delivery_resend,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

SECTION = "webhooks"
PERSONAL_EVENTS = [event for event in EventType.values if event not in TEAM_EVENTS]


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("secret")
def webhooks(request: HttpRequest) -> HttpResponse:
    """The list of endpoints, and the form that adds one."""
    organization = organization_for_endpoints(user=request.user)
    form = EndpointForm(
        request.POST or None, initial={"events": PERSONAL_EVENTS}, organization=organization
    )
    if request.method == "POST" and form.is_valid():
        wide = form.cleaned_data.get("scope") == SCOPE_ORGANIZATION
        try:
            endpoint, secret = endpoint_create(
                owner=request.user,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                organization=organization if wide else None,
            )
        except UnsafeTarget as refused:  # DNS changed between the form and the service
            form.add_error("url", refused.message)
        else:
            messages.success(request, _("The endpoint was added."))
            return _endpoint_page(request, endpoint, secret=secret)
    endpoints = selectors.endpoints_for(user=request.user)
    return render(
        request,
        "integrations/webhooks.html",
        {"form": form, "endpoints": endpoints, "section": SECTION},
        status=_form_status(form),
    )


def _form_status(form) -> int:
    """400 for a form sent with mistakes (bad input is a 4xx everywhere), else 200."""
    return 400 if form.is_bound and form.errors else 200


def _edit_form(endpoint, data=None) -> EndpointEditForm:
    return EndpointEditForm(
        data,
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "is_active": endpoint.is_active,
        },
        team_events=endpoint.organization_id is not None,
    )


def _endpoint_page(request: HttpRequest, endpoint, *, secret: str = "", form=None) -> HttpResponse:
    form = form or _edit_form(endpoint)
    context = {
        "endpoint": endpoint,
        "form": form,
        "secret": secret,
        "deliveries": selectors.deliveries_for(endpoint=endpoint),
        "section": SECTION,
    }
    return render(request, "integrations/endpoint.html", context, status=_form_status(form))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def endpoint(request: HttpRequest, pk: int) -> HttpResponse:
    """One endpoint: its settings, secret rotation, test event and deliveries."""
    found = get_object_or_404(selectors.endpoints_for(user=request.user), pk=pk)
    if request.method == "POST":
        form = _edit_form(found, request.POST)
        if form.is_valid():
            try:
                endpoint_update(endpoint=found, **form.cleaned_data)
            except UnsafeTarget as refused:
                form.add_error("url", refused.message)
            else:
                messages.success(request, _("The endpoint was saved."))
                return redirect("integrations:webhook", pk=found.pk)
        return _endpoint_page(request, found, form=form)
    return _endpoint_page(request, found)


@never_cache
@login_required
@require_POST
@sensitive_variables("secret")
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(selectors.endpoints_for(user=request.user), pk=pk)
    secret = endpoint_rotate_secret(endpoint=found)
    messages.success(
        request, _("A new secret was made. The old one keeps signing deliveries for 24 hours.")
    )
    return _endpoint_page(request, found, secret=secret)


@login_required
@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(selectors.endpoints_for(user=request.user), pk=pk)
    if not found.is_active:
        messages.error(request, _("Switch the endpoint on first."))
    else:
        endpoint_send_test(endpoint=found)
        messages.success(request, _("A test event is on its way; reload to see its delivery."))
    return redirect("integrations:webhook", pk=found.pk)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(selectors.endpoints_for(user=request.user), pk=pk)
    found.delete()
    messages.success(request, _("The endpoint was deleted."))
    return redirect("integrations:webhooks")


@login_required
@require_POST
def delivery_resend_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(
        WebhookDelivery.objects.filter(endpoint__in=selectors.endpoints_for(user=request.user)),
        pk=pk,
    )
    if delivery_resend(delivery=delivery):
        messages.success(request, _("The delivery is sent again in a moment."))
    else:
        messages.info(request, _("This delivery is still being attempted."))
    return redirect("integrations:webhook", pk=delivery.endpoint_id)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("value")
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens, and the form that makes one (shown once)."""
    form = TokenForm(request.POST or None)
    value = ""
    if request.method == "POST" and form.is_valid():
        _token, value = token_create(
            owner=request.user,
            name=form.cleaned_data["name"],
            expires_in_days=form.cleaned_data["expires"],
        )
        form = TokenForm()
    context = {
        "form": form,
        "tokens": selectors.tokens_for(user=request.user),
        "members_tokens": selectors.members_tokens_for(user=request.user),
        "new_token": value,
        "section": "profile",
    }
    return render(request, "integrations/tokens.html", context, status=_form_status(form))


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(selectors.tokens_managed_by(user=request.user), pk=pk)
    token_revoke(token=token)
    messages.success(request, _("The token was revoked; requests with it are refused now."))
    return redirect("integrations:tokens")
