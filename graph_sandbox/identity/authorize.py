"""``{authority}/oauth2/v2.0/authorize``: the sign-in and consent pages a browser sees.

Served over plain http by the web server under ``/graph-sandbox/`` (so the browser
shows no certificate warning). The pages keep no session of their own and never
touch the product's: the validated request travels between the steps as a
signed, time-limited form field, as Microsoft's flow token does.

Errors about the client itself (unknown app, unregistered redirect URI) are shown
on a page, never redirected, as Microsoft does; every other error goes back to
the redirect URI with ``error`` and an ``AADSTS…`` description.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode, urlsplit

from csp.decorators import csp_update
from django import forms
from django.contrib.auth.hashers import check_password
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from graph_sandbox.clock import sandbox_now
from graph_sandbox.identity import tokens
from graph_sandbox.identity.errors import IdentityError, correlation_id, error_body
from graph_sandbox.identity.registrations import app_for_client_id, check_redirect_uri
from graph_sandbox.identity.scopes import UnknownScope, describe, parse_scopes
from graph_sandbox.identity.tenants import users_for_sign_in
from graph_sandbox.models import AppRegistration, Mailbox

SIGNED_REQUEST_MAX_AGE = 3600
RESPONSE_MODES = ("query", "fragment", "form_post")


@dataclass
class AuthorizeRequest:
    """An authorize request that passed validation."""

    tenant: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str = ""
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    response_mode: str = "query"
    prompt: str = ""
    login_hint: str = ""
    client_info: bool = False
    mailbox_oid: str = field(default="")  # set once the user signed in

    def sign(self) -> str:
        return signing.dumps(asdict(self), salt="graph_sandbox.authorize", compress=True)

    @classmethod
    def unsign(cls, value: str) -> AuthorizeRequest:
        data = signing.loads(value, salt="graph_sandbox.authorize", max_age=SIGNED_REQUEST_MAX_AGE)
        return cls(**data)


class PageError(Exception):
    """A problem shown on the sandbox's error page instead of a redirect."""

    def __init__(self, title: str, detail: str):
        super().__init__(detail)
        self.title = title
        self.detail = detail


class RedirectError(Exception):
    """A problem reported to the app at its redirect URI."""

    def __init__(self, request: AuthorizeRequest, error: IdentityError, subcode: str = ""):
        super().__init__(str(error))
        self.request = request
        self.error = error
        self.subcode = subcode


class SignInForm(forms.Form):
    address = forms.ChoiceField(label="Account")
    password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, users: list[Mailbox], login_hint: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        field_ = self.fields["address"]
        field_.choices = [(u.address, f"{u.display_name} ({u.address})") for u in users]
        if login_hint:
            field_.initial = login_hint.lower()


@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest, tenant: str) -> HttpResponse:
    try:
        if request.method == "GET":
            return _sign_in_page(request, _validated(request, tenant))
        step = request.POST.get("step", "")
        auth = _from_form(request)
        if step == "signin":
            return _sign_in(request, auth)
        if step == "consent":
            return _consent(request, auth)
        raise PageError("Something went wrong", "This page was sent without a sign-in step.")
    except PageError as exc:
        return render(
            request,
            "graph_sandbox/error.html",
            {"title": exc.title, "detail": exc.detail},
            status=400,
        )
    except RedirectError as exc:
        return _redirect_error(request, exc)


# --- steps ---------------------------------------------------------------------------


def _sign_in_page(
    request: HttpRequest, auth: AuthorizeRequest, form: SignInForm | None = None
) -> HttpResponse:
    users = list(users_for_sign_in(auth.tenant))
    form = form or SignInForm(users=users, login_hint=auth.login_hint)
    return render(
        request,
        "graph_sandbox/signin.html",
        {"form": form, "signed_request": auth.sign(), "app": _app(auth)},
    )


def _sign_in(request: HttpRequest, auth: AuthorizeRequest) -> HttpResponse:
    users = list(users_for_sign_in(auth.tenant))
    form = SignInForm(request.POST, users=users)
    if not form.is_valid():
        return _sign_in_page(request, auth, form)
    mailbox = next(u for u in users if u.address == form.cleaned_data["address"])
    if not mailbox.password or not check_password(form.cleaned_data["password"], mailbox.password):
        form.add_error(
            "password",
            "Your account or password is incorrect. (AADSTS50126: Error validating "
            "credentials due to invalid username or password.)",
        )
        return _sign_in_page(request, auth, form)
    auth.mailbox_oid = str(mailbox.object_id)
    app = _app(auth)
    if auth.prompt == "consent" or not tokens.consent_covers(
        mailbox=mailbox, app=app, scopes=auth.scopes
    ):
        return _consent_page(request, auth, app=app, mailbox=mailbox)
    return _issue_code(request, auth, app=app, mailbox=mailbox)


def _consent_page(
    request: HttpRequest, auth: AuthorizeRequest, *, app: AppRegistration, mailbox: Mailbox
) -> HttpResponse:
    permissions = [describe(s) for s in auth.scopes if s not in ("openid", "profile")]
    permissions.insert(0, describe("profile"))
    return render(
        request,
        "graph_sandbox/consent.html",
        {
            "app": app,
            "mailbox": mailbox,
            "permissions": permissions,
            "signed_request": auth.sign(),
        },
    )


def _consent(request: HttpRequest, auth: AuthorizeRequest) -> HttpResponse:
    mailbox = Mailbox.objects.filter(object_id=auth.mailbox_oid or None).first()
    if mailbox is None:
        raise PageError("Sign in first", "This consent page was sent without a signed-in user.")
    if request.POST.get("decision") != "accept":
        raise RedirectError(auth, IdentityError(65004), subcode="cancel")
    app = _app(auth)
    tokens.consent_record(mailbox=mailbox, app=app, scopes=auth.scopes)
    return _issue_code(request, auth, app=app, mailbox=mailbox)


def _issue_code(
    request: HttpRequest, auth: AuthorizeRequest, *, app: AppRegistration, mailbox: Mailbox
) -> HttpResponse:
    code = tokens.code_issue(
        app=app,
        mailbox=mailbox,
        redirect_uri=auth.redirect_uri,
        scopes=auth.scopes,
        code_challenge=auth.code_challenge,
        code_challenge_method=auth.code_challenge_method,
        nonce=auth.nonce,
    )
    params = {"code": code}
    if auth.client_info:
        params["client_info"] = tokens.client_info_for(mailbox)
    if auth.state:
        params["state"] = auth.state
    params["session_state"] = str(uuid.uuid4())
    return _respond(request, auth, params)


# --- validation ------------------------------------------------------------------------


def _validated(request: HttpRequest, tenant: str) -> AuthorizeRequest:
    """Check an authorize request the way Microsoft does, client problems first."""
    query = request.GET
    try:
        app = app_for_client_id(client_id=query.get("client_id", ""), tenant_label=tenant)
        users_for_sign_in(tenant)  # 90002 for an unknown tenant
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri:
            raise IdentityError(900144, parameter="redirect_uri")
        check_redirect_uri(app=app, redirect_uri=redirect_uri)
    except IdentityError as exc:
        raise PageError("Sorry, but we're having trouble signing you in.", str(exc))
    response_mode = query.get("response_mode") or "query"
    auth = AuthorizeRequest(
        tenant=tenant,
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        scopes=[],
        state=query.get("state", ""),
        nonce=query.get("nonce", ""),
        code_challenge=query.get("code_challenge", ""),
        code_challenge_method=query.get("code_challenge_method", ""),
        response_mode=response_mode if response_mode in RESPONSE_MODES else "query",
        prompt=query.get("prompt", ""),
        login_hint=query.get("login_hint", ""),
        client_info=query.get("client_info") == "1",
    )
    _check_protocol(auth, query)
    return auth


def _check_protocol(auth: AuthorizeRequest, query) -> None:
    response_type = query.get("response_type", "")
    if response_type != "code":
        raise RedirectError(auth, IdentityError(70005, response_type=response_type))
    if query.get("response_mode", "query") not in RESPONSE_MODES:
        raise RedirectError(auth, IdentityError(9002313))
    try:
        auth.scopes = parse_scopes(query.get("scope", ""))
    except UnknownScope as exc:
        raise RedirectError(auth, IdentityError(70011, scope=exc.scope))
    if not auth.scopes:
        raise RedirectError(auth, IdentityError(900144, parameter="scope"))
    if auth.code_challenge:
        if not 43 <= len(auth.code_challenge) <= 128:
            raise RedirectError(auth, IdentityError(501491))
        auth.code_challenge_method = auth.code_challenge_method or "plain"
        if auth.code_challenge_method not in ("S256", "plain"):
            raise RedirectError(auth, IdentityError(9002313))
    if auth.prompt == "none":
        raise RedirectError(auth, IdentityError(50058))


def _from_form(request: HttpRequest) -> AuthorizeRequest:
    try:
        return AuthorizeRequest.unsign(request.POST.get("request", ""))
    except signing.BadSignature:
        raise PageError(
            "This sign-in has expired",
            "Start again from the app that sent you here.",
        )


def _app(auth: AuthorizeRequest) -> AppRegistration:
    try:
        return app_for_client_id(client_id=auth.client_id, tenant_label=auth.tenant)
    except IdentityError as exc:
        raise PageError("Sorry, but we're having trouble signing you in.", str(exc))


# --- answering the app -----------------------------------------------------------------


def _redirect_error(request: HttpRequest, exc: RedirectError) -> HttpResponse:
    body = error_body(
        exc.error,
        now=sandbox_now(),
        correlation_id=correlation_id(request),
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    params = {"error": body["error"], "error_description": body["error_description"]}
    if exc.subcode:
        params["error_subcode"] = exc.subcode
    if exc.request.state:
        params["state"] = exc.request.state
    return _respond(request, exc.request, params)


def _respond(request: HttpRequest, auth: AuthorizeRequest, params: dict[str, str]) -> HttpResponse:
    """Send ``params`` to the redirect URI the way ``response_mode`` asks."""
    if auth.response_mode == "form_post":
        target = urlsplit(auth.redirect_uri)

        # The page's form goes to the app's redirect URI, maybe another origin than ours.
        @csp_update({"form-action": [f"{target.scheme}://{target.netloc}"]})
        def form_post() -> HttpResponse:
            context = {"action": auth.redirect_uri, "fields": params.items()}
            return render(request, "graph_sandbox/form_post.html", context)

        return form_post()
    separator = (
        "#" if auth.response_mode == "fragment" else ("&" if "?" in auth.redirect_uri else "?")
    )
    return HttpResponseRedirect(auth.redirect_uri + separator + urlencode(params))
