"""Authorization codes, refresh tokens and access tokens: issuing, redeeming, revoking.

Lifetimes follow Microsoft, by the sandbox clock: a code lives ten minutes and
is redeemable once; an access token lives an hour; each refresh token lives 90
days from its own issue, every use returns a new one (the old one is not
revoked, as with Microsoft), and revoking a user's sessions refuses every
refresh token issued before that moment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings

from graph_sandbox import jwt, store, tls
from graph_sandbox.clock import sandbox_now
from graph_sandbox.identity.errors import IdentityError
from graph_sandbox.identity.scopes import (
    UnknownScope,
    parse_scopes,
    resource_scopes,
    response_scope,
)
from graph_sandbox.ids import b64url, opaque_token, sha256_hex
from graph_sandbox.models import (
    AccessToken,
    AppRegistration,
    AuthorizationCode,
    Consent,
    Mailbox,
    RefreshToken,
)

CODE_LIFETIME = timedelta(minutes=10)
ACCESS_TOKEN_SECONDS = 3599
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


# --- consent -------------------------------------------------------------------------


def consent_covers(*, mailbox: Mailbox, app: AppRegistration, scopes: list[str]) -> bool:
    """Whether the user already granted the app every Graph permission in ``scopes``."""
    consent = Consent.objects.filter(mailbox=mailbox, app=app).first()
    granted = set(consent.scopes) if consent else set()
    return set(resource_scopes(scopes)) <= granted


def consent_record(*, mailbox: Mailbox, app: AppRegistration, scopes: list[str]) -> None:
    """Add ``scopes`` to what the user granted the app (incremental consent)."""
    with store.writing():
        consent, _ = Consent.objects.get_or_create(
            mailbox=mailbox, app=app, defaults={"scopes": [], "granted_at": sandbox_now()}
        )
        consent.scopes = sorted(set(consent.scopes) | set(resource_scopes(scopes)))
        consent.granted_at = sandbox_now()
        consent.save()


# --- authorization codes ----------------------------------------------------------------


def code_issue(
    *,
    app: AppRegistration,
    mailbox: Mailbox,
    redirect_uri: str,
    scopes: list[str],
    code_challenge: str,
    code_challenge_method: str,
    nonce: str,
) -> str:
    """A fresh authorization code for the user's sign-in; only its hash is kept."""
    code = opaque_token("1.AQ")
    now = sandbox_now()
    with store.writing():
        AuthorizationCode.objects.create(
            code_hash=sha256_hex(code),
            app=app,
            mailbox=mailbox,
            redirect_uri=redirect_uri,
            scopes=scopes,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            nonce=nonce,
            issued_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    return code


def code_redeem(
    *,
    app: AppRegistration,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    base_url: str,
    client_info: bool,
) -> dict:
    """Exchange a code for tokens (the ``authorization_code`` grant). Single use."""
    now = sandbox_now()
    with store.writing():
        row = (
            AuthorizationCode.objects.select_related("mailbox__tenant")
            .filter(code_hash=sha256_hex(code), app=app)
            .first()
        )
        if row is None:
            raise IdentityError(9002313, error="invalid_grant")
        if row.redeemed_at is not None:
            raise IdentityError(54005)
        if row.expires_at <= now:
            raise IdentityError(70008)
        if redirect_uri != row.redirect_uri:
            raise IdentityError(500112, redirect_uri=redirect_uri, expected=row.redirect_uri)
        _check_pkce(row, code_verifier)
        row.redeemed_at = now
        row.save(update_fields=["redeemed_at"])
        return _token_response(
            app=app,
            mailbox=row.mailbox,
            scopes=row.scopes,
            nonce=row.nonce,
            base_url=base_url,
            client_info=client_info,
        )


def _check_pkce(row: AuthorizationCode, verifier: str) -> None:
    if not row.code_challenge:
        return
    if not verifier:  # Microsoft tells a missing verifier (50148) from a wrong one (501481)
        raise IdentityError(50148)
    if row.code_challenge_method == "plain":
        expected = verifier
    else:
        expected = b64url(hashlib.sha256(verifier.encode()).digest())
    if not hmac.compare_digest(expected, row.code_challenge):
        raise IdentityError(501481)


# --- refresh tokens ------------------------------------------------------------------------


def refresh_redeem(
    *,
    app: AppRegistration,
    refresh_token: str,
    scope: str,
    base_url: str,
    client_info: bool,
) -> dict:
    """The ``refresh_token`` grant: new tokens, including a new refresh token."""
    now = sandbox_now()
    row = (
        RefreshToken.objects.select_related("mailbox__tenant", "app")
        .filter(token_hash=sha256_hex(refresh_token))
        .first()
    )
    if row is None:
        raise IdentityError(9002313, error="invalid_grant")
    if row.app_id != app.id:
        raise IdentityError(70000)
    issued = _ms_timestamp(row.issued_at)
    if row.expires_at <= now:
        raise IdentityError(700082, issued=issued)
    valid_from = row.mailbox.tokens_valid_from
    if row.revoked_at is not None or (valid_from and row.issued_at < valid_from):
        raise IdentityError(50173, issued=issued, valid_from=_ms_timestamp(valid_from or now))
    scopes = _refresh_scopes(row, scope)
    if not consent_covers(mailbox=row.mailbox, app=app, scopes=scopes):
        raise IdentityError(
            65001, suberror="consent_required", client_id=app.client_id, app_name=app.name
        )
    with store.writing():
        return _token_response(
            app=app,
            mailbox=row.mailbox,
            scopes=scopes,
            nonce="",
            base_url=base_url,
            client_info=client_info,
        )


def _refresh_scopes(row: RefreshToken, scope: str) -> list[str]:
    """The scopes a refresh asks for (default: the refresh token's); it always rotates."""
    if not scope.strip():
        return list(row.scopes)
    try:
        wanted = parse_scopes(scope)
    except UnknownScope as exc:
        raise IdentityError(70011, scope=exc.scope)
    return wanted if "offline_access" in wanted else [*wanted, "offline_access"]


# --- revocation ----------------------------------------------------------------------------


def grants_revoke(*, mailbox: Mailbox, app: AppRegistration | None = None) -> int:
    """Revoke the user's sessions and consent (for one app, or all).

    Refresh tokens issued so far are refused with ``invalid_grant`` (AADSTS50173),
    access tokens stop working at once, and the next sign-in asks for consent
    again. Returns how many refresh tokens were revoked.
    """
    now = sandbox_now()
    with store.writing():
        refresh = RefreshToken.objects.filter(mailbox=mailbox, revoked_at__isnull=True)
        access = AccessToken.objects.filter(mailbox=mailbox, revoked_at__isnull=True)
        consents = Consent.objects.filter(mailbox=mailbox)
        if app is not None:
            refresh, access, consents = (
                refresh.filter(app=app),
                access.filter(app=app),
                consents.filter(app=app),
            )
        else:
            Mailbox.objects.filter(pk=mailbox.pk).update(tokens_valid_from=now)
        count = refresh.update(revoked_at=now)
        access.update(revoked_at=now)
        consents.delete()
    return count


# --- issuing -------------------------------------------------------------------------------


def _token_response(
    *,
    app: AppRegistration,
    mailbox: Mailbox,
    scopes: list[str],
    nonce: str,
    base_url: str,
    client_info: bool,
) -> dict:
    """Issue and store an access token (and refresh token); the JSON to answer with."""
    now = sandbox_now()
    granted = resource_scopes(scopes) or ["User.Read"]
    response = {
        "token_type": "Bearer",
        "scope": response_scope(
            [*granted, *(s for s in scopes if s not in granted)],
            uri_form=getattr(settings, "GRAPH_SANDBOX_SCOPE_FORM", "short") == "uri",
        ),
        "expires_in": ACCESS_TOKEN_SECONDS,
        "ext_expires_in": ACCESS_TOKEN_SECONDS,
        "access_token": _access_token(app=app, mailbox=mailbox, scopes=granted, now=now),
    }
    if "offline_access" in scopes:
        response["refresh_token"] = _refresh_token(app=app, mailbox=mailbox, scopes=scopes, now=now)
    if "openid" in scopes:
        response["id_token"] = _id_token(
            app=app, mailbox=mailbox, scopes=scopes, nonce=nonce, base_url=base_url, now=now
        )
    if client_info:
        response["client_info"] = client_info_for(mailbox)
    return response


def client_info_for(mailbox: Mailbox) -> str:
    """base64url JSON ``{"uid": oid, "utid": tid}``: MSAL's home account id."""
    info = {"uid": str(mailbox.object_id), "utid": str(mailbox.tenant.tenant_id)}
    return b64url(json.dumps(info, separators=(",", ":")).encode())


def _access_token(
    *, app: AppRegistration, mailbox: Mailbox, scopes: list[str], now: datetime
) -> str:
    tid = str(mailbox.tenant.tenant_id)
    claims = {
        "aud": GRAPH_APP_ID,
        "iss": f"https://sts.windows.net/{tid}/",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(now.timestamp()) + ACCESS_TOKEN_SECONDS,
        "app_displayname": app.name,
        "appid": app.client_id,
        "name": mailbox.display_name,
        "oid": str(mailbox.object_id),
        "scp": " ".join(scopes),
        "sub": _pairwise_subject(mailbox, GRAPH_APP_ID),
        "tid": tid,
        "unique_name": mailbox.address,
        "upn": mailbox.address,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "1.0",
    }
    token = jwt.encode(claims, tls.signing_key())
    AccessToken.objects.create(
        token_hash=sha256_hex(token),
        app=app,
        mailbox=mailbox,
        scopes=scopes,
        issued_at=now,
        expires_at=now + timedelta(seconds=ACCESS_TOKEN_SECONDS),
    )
    return token


def _refresh_token(
    *, app: AppRegistration, mailbox: Mailbox, scopes: list[str], now: datetime
) -> str:
    token = opaque_token("1.AXoA")
    RefreshToken.objects.create(
        token_hash=sha256_hex(token),
        app=app,
        mailbox=mailbox,
        scopes=scopes,
        issued_at=now,
        expires_at=now + REFRESH_TOKEN_LIFETIME,
    )
    return token


def _id_token(
    *,
    app: AppRegistration,
    mailbox: Mailbox,
    scopes: list[str],
    nonce: str,
    base_url: str,
    now: datetime,
) -> str:
    tid = str(mailbox.tenant.tenant_id)
    claims = {
        "aud": app.client_id,
        "iss": f"{base_url}/{tid}/v2.0",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(now.timestamp()) + ACCESS_TOKEN_SECONDS,
        "name": mailbox.display_name,
        "oid": str(mailbox.object_id),
        "preferred_username": mailbox.address,
        "rh": b64url(secrets.token_bytes(24)),
        "sid": str(uuid.uuid4()),
        "sub": _pairwise_subject(mailbox, app.client_id),
        "tid": tid,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "2.0",
    }
    if nonce:
        claims["nonce"] = nonce
    if "email" in scopes:
        claims["email"] = mailbox.address
    return jwt.encode(claims, tls.signing_key())


def _pairwise_subject(mailbox: Mailbox, audience: str) -> str:
    """Microsoft's ``sub`` differs per app for the same user."""
    digest = hashlib.sha256(f"{mailbox.object_id}:{audience}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:43]


def _ms_timestamp(value: datetime) -> str:
    """``2024-07-31T08:00:26.4486159Z``: how AADSTS messages write times."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
