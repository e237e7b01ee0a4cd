"""The identity platform: discovery, the authorize pages and the token endpoint.

Written from Microsoft's documentation of the v2.0 endpoints ("OpenID Connect on
the Microsoft identity platform", "Authorization code flow", "Refresh tokens",
"Redirect URI restrictions", "AADSTS error codes").
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from graph_sandbox import control
from tests.contract.conftest import ADELE, ROOM
from tests.support.htmlforms import forms_of

pytestmark = [pytest.mark.slow]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def pkce():
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


@pytest.fixture
def authorize(sandbox, http, pkce):
    """GET the authorize endpoint named by discovery, with sensible defaults."""
    endpoint = http.get(sandbox.authority + "/v2.0/.well-known/openid-configuration").json()[
        "authorization_endpoint"
    ]

    def get(**params: str) -> requests.Response:
        query = {
            "client_id": sandbox.client_id,
            "response_type": "code",
            "redirect_uri": sandbox.callback_url(),
            "scope": "openid profile offline_access User.Read Calendars.ReadWrite",
            "state": "state-123",
            "nonce": "nonce-456",
            "code_challenge": pkce[1],
            "code_challenge_method": "S256",
            "response_mode": "query",
            **params,
        }
        query = {k: v for k, v in query.items() if v is not None}
        return requests.get(endpoint + "?" + urlencode(query), allow_redirects=False)

    return get


@pytest.fixture
def code_for(sandbox, authorize):
    """A fresh authorization code for ADELE (response_mode=query)."""

    def issue(**params: str) -> str:
        answer = sandbox.sign_in(authorize(**params).url, address=ADELE)
        return answer.fields["code"]

    return issue


@pytest.fixture
def token(sandbox, http):
    def post(**form: str) -> requests.Response:
        data = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, **form}
        data = {k: v for k, v in data.items() if v is not None}
        return http.post(sandbox.authority + "/oauth2/v2.0/token", data=data)

    return post


@pytest.fixture
def redeem(sandbox, token, code_for, pkce):
    def exchange(**form: str) -> requests.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code_for(),
            "redirect_uri": sandbox.callback_url(),
            "code_verifier": pkce[0],
            "scope": "User.Read Calendars.ReadWrite offline_access openid profile",
            **form,
        }
        return token(**data)

    return exchange


def assert_identity_error(response: requests.Response, status: int, error: str, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "Trace ID: " in body["error_description"]
    assert "Correlation ID: " in body["error_description"]
    for key in ("timestamp", "trace_id", "correlation_id"):
        assert body[key]
    uuid.UUID(body["trace_id"])
    return body


# --- discovery -----------------------------------------------------------------------


def test_discovery_names_https_token_endpoint_issuer_and_keys(sandbox, http):
    doc = http.get(sandbox.authority + "/v2.0/.well-known/openid-configuration")
    assert doc.status_code == 200
    config = doc.json()
    assert config["token_endpoint"] == sandbox.authority + "/oauth2/v2.0/token"
    assert config["token_endpoint"].startswith("https://")
    assert config["issuer"] == sandbox.base_url + "/{tenantid}/v2.0"
    assert config["authorization_endpoint"].endswith("/common/oauth2/v2.0/authorize")
    assert "form_post" in config["response_modes_supported"]
    assert "code" in config["response_types_supported"]
    assert config["jwks_uri"].startswith("https://")


def test_a_tenant_specific_authority_names_its_tenant_as_issuer(sandbox, http):
    tid = str(control.mailbox(ADELE).tenant.tenant_id)
    for segment in (tid, "contoso.example"):
        config = http.get(
            f"{sandbox.base_url}/{segment}/v2.0/.well-known/openid-configuration"
        ).json()
        assert config["issuer"] == f"{sandbox.base_url}/{tid}/v2.0"


def test_discovery_of_an_unknown_tenant_is_invalid_tenant(sandbox, http):
    response = http.get(
        sandbox.base_url + "/nosuchtenant.example/v2.0/.well-known/openid-configuration"
    )
    assert_identity_error(response, 400, "invalid_tenant", 90002)


def test_id_tokens_verify_with_the_published_keys(sandbox, http, redeem):
    body = redeem().json()
    header, payload, signature = body["id_token"].split(".")
    kid = json.loads(unb64url(header))["kid"]
    jwks_uri = http.get(sandbox.authority + "/v2.0/.well-known/openid-configuration").json()[
        "jwks_uri"
    ]
    (key,) = [k for k in http.get(jwks_uri).json()["keys"] if k["kid"] == kid]
    public = rsa.RSAPublicNumbers(
        int.from_bytes(unb64url(key["e"]), "big"), int.from_bytes(unb64url(key["n"]), "big")
    ).public_key()
    public.verify(
        unb64url(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    claims = json.loads(unb64url(payload))
    mailbox = control.mailbox(ADELE)
    assert claims["oid"] == str(mailbox.object_id)
    assert claims["tid"] == str(mailbox.tenant.tenant_id)
    assert claims["iss"] == f"{sandbox.base_url}/{claims['tid']}/v2.0"
    assert claims["nonce"] == "nonce-456"
    assert claims["exp"] - claims["iat"] == 3599


# --- authorize -----------------------------------------------------------------------


def test_an_unknown_app_is_refused_on_the_page_not_redirected(authorize):
    page = authorize(client_id=str(uuid.uuid4()))
    assert page.status_code == 400
    assert "AADSTS700016" in page.text
    assert "Location" not in page.headers


def test_an_unregistered_redirect_uri_is_refused_on_the_page(authorize):
    for uri in (
        "https://evil.example/setup/integration/calendar/office365/callback/",
        "http://127.0.0.1:8000/setup/integration/calendar/office365/other/",
        "http://127.0.0.1:8000/Setup/integration/calendar/office365/callback/",  # case matters
    ):
        page = authorize(redirect_uri=uri)
        assert page.status_code == 400, uri
        assert "AADSTS50011" in page.text


def test_loopback_redirect_uris_match_on_any_port(sandbox, authorize):
    for base in ("http://127.0.0.1:51234", "http://localhost:3000", "http://127.0.0.1"):
        page = authorize(redirect_uri=sandbox.callback_url(base))
        assert page.status_code == 200, base
        assert forms_of(page.text)[0].fields["step"] == "signin"


def test_protocol_errors_go_back_to_the_redirect_uri_with_state(authorize):
    cases = [
        ({"response_type": "token"}, "unsupported_response_type", "70005"),
        ({"scope": "openid Mail.ReadEverything"}, "invalid_scope", "70011"),
        ({"code_challenge": "short"}, "invalid_request", "501491"),
        ({"prompt": "none"}, "login_required", "50058"),
    ]
    for params, error, code in cases:
        response = authorize(**params)
        assert response.status_code == 302, params
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        assert query["error"] == [error]
        assert query["error_description"][0].startswith(f"AADSTS{code}: ")
        assert query["state"] == ["state-123"]


def test_a_wrong_password_stays_on_the_sign_in_page(sandbox, authorize):
    with pytest.raises(AssertionError, match="sign-in refused"):
        sandbox.sign_in(authorize().url, address=ADELE, password="not-the-password")


def test_rooms_cannot_sign_in(sandbox, authorize):
    page = authorize()
    (form,) = [f for f in forms_of(page.text) if f.fields.get("step") == "signin"]
    assert ADELE in form.selects["address"]
    assert ROOM not in form.selects["address"]


def test_consent_is_asked_once_and_again_with_prompt_consent(sandbox, authorize):
    first = sandbox.sign_in(authorize().url, address=ADELE)
    assert "code" in first.fields
    browser = requests.Session()
    page = browser.get(authorize().url)
    form = forms_of(page.text)[0]
    after = browser.post(
        page.url,
        data={**form.fields, "address": ADELE, "password": sandbox.password},
        allow_redirects=False,
    )
    assert after.status_code == 302  # consented already: straight back to the app
    assert "code=" in after.headers["Location"]
    forced = requests.Session()
    page = forced.get(authorize(prompt="consent").url)
    form = forms_of(page.text)[0]
    consent = forced.post(
        page.url, data={**form.fields, "address": ADELE, "password": sandbox.password}
    )
    assert "Permissions requested" in consent.text


def test_the_code_comes_back_with_state_in_the_query(sandbox, authorize):
    answer = sandbox.sign_in(authorize().url, address=ADELE)
    assert answer.redirect_uri == sandbox.callback_url()
    assert answer.fields["state"] == "state-123"
    assert answer.fields["code"]
    assert "session_state" in answer.fields


def test_the_sign_in_pages_leave_the_products_session_alone(sandbox, authorize):
    browser = requests.Session()
    page = browser.get(authorize().url)
    form = forms_of(page.text)[0]
    browser.post(page.url, data={**form.fields, "address": ADELE, "password": sandbox.password})
    assert "sessionid" not in browser.cookies


# --- token endpoint: authorization code ------------------------------------------------------


def test_redeeming_a_code_returns_the_documented_fields(redeem):
    response = redeem()
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"].startswith("no-store")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert set(body["scope"].split()) >= {"User.Read", "Calendars.ReadWrite", "openid", "profile"}
    assert "offline_access" not in body["scope"].split()
    assert body["access_token"].count(".") == 2
    assert body["refresh_token"]
    assert body["id_token"].count(".") == 2


def test_client_info_is_base64url_json_of_uid_and_utid(redeem):
    body = redeem(client_info="1").json()
    info = json.loads(unb64url(body["client_info"]))
    mailbox = control.mailbox(ADELE)
    assert info == {"uid": str(mailbox.object_id), "utid": str(mailbox.tenant.tenant_id)}


def test_a_code_is_redeemed_once(redeem, code_for):
    code = code_for()
    assert redeem(code=code).status_code == 200
    assert_identity_error(redeem(code=code), 400, "invalid_grant", 54005)


def test_a_code_expires_after_ten_minutes(redeem, code_for):
    code = code_for()
    control.clock_advance(timedelta(minutes=11))
    assert_identity_error(redeem(code=code), 400, "invalid_grant", 70008)


def test_the_pkce_verifier_must_match_the_challenge(redeem):
    assert_identity_error(redeem(code_verifier="x" * 50), 400, "invalid_grant", 501481)


def test_a_code_sent_with_a_challenge_needs_a_verifier(redeem):
    body = assert_identity_error(redeem(code_verifier=None), 400, "invalid_grant", 50148)
    assert "code_verifier" in body["error_description"]


def test_the_redirect_uri_must_be_the_one_the_code_was_sent_to(sandbox, redeem):
    other_port = sandbox.callback_url("http://127.0.0.1:9")
    assert_identity_error(redeem(redirect_uri=other_port), 400, "invalid_grant", 500112)
    assert_identity_error(
        redeem(redirect_uri="https://evil.example/cb"), 400, "invalid_request", 50011
    )


def test_client_authentication_errors(sandbox, redeem):
    assert_identity_error(redeem(client_secret="wrong"), 401, "invalid_client", 7000215)
    assert_identity_error(redeem(client_secret=None), 401, "invalid_client", 7000218)
    body = assert_identity_error(
        redeem(client_id="00000000-0000-0000-0000-000000000001"),
        400,
        "unauthorized_client",
        700016,
    )
    assert "00000000-0000-0000-0000-000000000001" in body["error_description"]


def test_the_secret_may_also_come_as_basic_auth(sandbox, http, code_for, pkce):
    response = http.post(
        sandbox.authority + "/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "code": code_for(),
            "redirect_uri": sandbox.callback_url(),
            "code_verifier": pkce[0],
        },
        auth=(sandbox.client_id, sandbox.client_secret),
    )
    assert response.status_code == 200, response.text


def test_malformed_token_requests(sandbox, http, token):
    assert_identity_error(token(grant_type="password"), 400, "unsupported_grant_type", 70003)
    assert_identity_error(token(grant_type=None), 400, "invalid_request", 900144)
    assert_identity_error(
        token(grant_type="authorization_code", code=None), 400, "invalid_request", 900144
    )
    get = http.get(sandbox.authority + "/oauth2/v2.0/token")
    assert_identity_error(get, 400, "invalid_request", 900561)


def test_the_correlation_id_echoes_the_client_request_id(sandbox, http):
    mine = str(uuid.uuid4())
    response = http.post(
        sandbox.authority + "/oauth2/v2.0/token",
        data={"client_id": sandbox.client_id, "grant_type": "refresh_token"},
        headers={"client-request-id": mine},
    )
    assert response.json()["correlation_id"] == mine


# --- token endpoint: refresh tokens -------------------------------------------------------------


def test_every_refresh_returns_a_new_refresh_token_and_the_old_one_still_works(redeem, token):
    first = redeem().json()["refresh_token"]
    second = token(grant_type="refresh_token", refresh_token=first).json()
    assert second["refresh_token"] != first
    assert second["access_token"]
    again = token(grant_type="refresh_token", refresh_token=first)
    assert again.status_code == 200  # Microsoft does not revoke the previous one


def test_a_refresh_token_expires_90_days_after_it_was_issued(redeem, token):
    refresh = redeem().json()["refresh_token"]
    control.clock_advance(timedelta(days=89, hours=23))
    newer = token(grant_type="refresh_token", refresh_token=refresh).json()["refresh_token"]
    control.clock_advance(timedelta(hours=2))
    body = assert_identity_error(
        token(grant_type="refresh_token", refresh_token=refresh), 400, "invalid_grant", 700082
    )
    assert "inactive for 90.00:00:00" in body["error_description"]
    assert token(grant_type="refresh_token", refresh_token=newer).status_code == 200


def test_revoked_and_unknown_refresh_tokens_are_invalid_grant(redeem, token):
    refresh = redeem().json()["refresh_token"]
    control.grants_revoke(ADELE)
    body = assert_identity_error(
        token(grant_type="refresh_token", refresh_token=refresh), 400, "invalid_grant", 50173
    )
    assert "TokensValidFrom" in body["error_description"]
    assert_identity_error(
        token(grant_type="refresh_token", refresh_token="0.not-a-token"),
        400,
        "invalid_grant",
        9002313,
    )


def test_a_refresh_cannot_widen_the_consented_scopes(redeem, token):
    refresh = redeem(scope="User.Read offline_access openid").json()["refresh_token"]
    body = assert_identity_error(
        token(
            grant_type="refresh_token",
            refresh_token=refresh,
            scope="Calendars.Read.Shared offline_access",
        ),
        400,
        "invalid_grant",
        65001,
    )
    assert body["suberror"] == "consent_required"


def test_an_access_token_lasts_an_hour(sandbox, http, redeem):
    access = redeem().json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    control.clock_advance(timedelta(minutes=59))
    assert http.get(sandbox.graph_url + "/me", headers=headers).status_code == 200
    control.clock_advance(timedelta(minutes=2))
    expired = http.get(sandbox.graph_url + "/me", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
