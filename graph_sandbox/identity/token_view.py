"""``POST {authority}/oauth2/v2.0/token``: the authorization code and refresh token grants."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from graph_sandbox.clock import sandbox_now
from graph_sandbox.headers import request_header
from graph_sandbox.identity import tokens
from graph_sandbox.identity.discovery import base_url
from graph_sandbox.identity.errors import IdentityError, identity_error_response
from graph_sandbox.identity.registrations import (
    app_for_client_id,
    check_client_secret,
    check_redirect_uri,
)
from graph_sandbox.identity.tenants import tenant_for_segment
from graph_sandbox.models import AppRegistration


@csrf_exempt
def token(request: HttpRequest, tenant: str) -> JsonResponse:
    try:
        body = _grant(request, tenant)
    except IdentityError as exc:
        return identity_error_response(request, exc, now=sandbox_now())
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store, no-cache"
    response["Pragma"] = "no-cache"
    return response


def _grant(request: HttpRequest, tenant: str) -> dict:
    if request.method != "POST":
        raise IdentityError(900561, method=request.method or "")
    tenant_for_segment(tenant)
    form = request.POST
    basic_id, basic_secret = _basic_credentials(request)
    app = app_for_client_id(client_id=form.get("client_id") or basic_id, tenant_label=tenant)
    check_client_secret(app=app, secret=form.get("client_secret") or basic_secret)
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        return _authorization_code(request, app)
    if grant_type == "refresh_token":
        return tokens.refresh_redeem(
            app=app,
            refresh_token=_required(request, "refresh_token"),
            scope=form.get("scope", ""),
            base_url=base_url(request),
            client_info=form.get("client_info") == "1",
        )
    if not grant_type:
        raise IdentityError(900144, parameter="grant_type")
    raise IdentityError(70003, grant=grant_type)


def _authorization_code(request: HttpRequest, app: AppRegistration) -> dict:
    code = _required(request, "code")
    redirect_uri = _required(request, "redirect_uri")
    check_redirect_uri(app=app, redirect_uri=redirect_uri)
    return tokens.code_redeem(
        app=app,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=request.POST.get("code_verifier", ""),
        base_url=base_url(request),
        client_info=request.POST.get("client_info") == "1",
    )


def _required(request: HttpRequest, name: str) -> str:
    value = request.POST.get(name, "")
    if not value:
        raise IdentityError(900144, parameter=name)
    return value


def _basic_credentials(request: HttpRequest) -> tuple[str, str]:
    """``client_secret_basic``: the credentials in an ``Authorization: Basic`` header."""
    scheme, _, encoded = request_header(request, "Authorization").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)
