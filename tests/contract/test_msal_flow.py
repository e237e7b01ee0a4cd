"""Real MSAL, as the product uses it, through the whole code flow and its refreshes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN, SCOPES

pytestmark = [pytest.mark.slow]


def test_msal_completes_the_code_flow_refreshes_and_then_sees_the_90_days_pass(sandbox, http):
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        SCOPES,
        redirect_uri=sandbox.callback_url("http://127.0.0.1:54321"),
        response_mode="form_post",
    )
    assert flow["auth_uri"].startswith(
        sandbox.pages_url + "/graph-sandbox/common/oauth2/v2.0/authorize?"
    )

    answer = sandbox.sign_in(flow["auth_uri"], address=ADELE)
    assert answer.redirect_uri == sandbox.callback_url("http://127.0.0.1:54321")
    assert set(answer.fields) >= {"code", "state", "client_info"}

    result = app.acquire_token_by_auth_code_flow(flow, answer.fields)
    assert result["token_type"] == "Bearer"
    assert {"access_token", "refresh_token", "id_token"} <= set(result)
    assert result["id_token_claims"]["preferred_username"] == ADELE
    assert result["id_token_claims"]["aud"] == sandbox.client_id
    me = http.get(
        sandbox.graph_url + "/me", headers={"Authorization": "Bearer " + result["access_token"]}
    )
    assert me.status_code == 200
    assert me.json()["userPrincipalName"] == ADELE

    (account,) = app.get_accounts()
    mailbox = control.mailbox(ADELE)
    assert account["home_account_id"] == f"{mailbox.object_id}.{mailbox.tenant.tenant_id}"
    assert account["username"] == ADELE

    refreshed = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != result["access_token"]
    assert control.refresh_tokens_issued(ADELE) == 2  # each refresh returns a new refresh token

    control.clock_advance(timedelta(days=91))
    expired = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert expired["error"] == "invalid_grant"
    assert 700082 in expired["error_codes"]
    assert expired["error_description"].startswith("AADSTS700082: ")


def test_a_refresh_within_90_days_of_the_newest_token_keeps_the_sign_in_alive(sandbox):
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=sandbox.callback_url(), response_mode="form_post"
    )
    app.acquire_token_by_auth_code_flow(
        flow, sandbox.sign_in(flow["auth_uri"], address=MEGAN).fields
    )
    (account,) = app.get_accounts()
    for _ in range(3):  # 3 times 80 days: only the sliding window keeps this alive
        control.clock_advance(timedelta(days=80))
        result = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
        assert "access_token" in result, result


def test_after_the_user_revokes_the_grant_msal_gets_invalid_grant(sandbox):
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=sandbox.callback_url(), response_mode="form_post"
    )
    app.acquire_token_by_auth_code_flow(
        flow, sandbox.sign_in(flow["auth_uri"], address=ADELE).fields
    )
    (account,) = app.get_accounts()

    assert control.grants_revoke(ADELE) == 1
    result = app.acquire_token_silent_with_error(SCOPES, account, force_refresh=True)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50173]
    # Plain acquire_token_silent hides the refusal behind None.
    assert app.acquire_token_silent(SCOPES, account, force_refresh=True) is None


def test_declining_consent_comes_back_to_msal_as_access_denied(sandbox):
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=sandbox.callback_url(), response_mode="form_post"
    )
    answer = sandbox.sign_in(flow["auth_uri"], address=ADELE, consent=False)
    assert answer.fields["error"] == "access_denied"
    assert answer.fields["error_subcode"] == "cancel"
    assert answer.fields["error_description"].startswith("AADSTS65004: ")
    result = app.acquire_token_by_auth_code_flow(flow, answer.fields)
    assert result["error"] == "access_denied"
    assert not app.get_accounts()


def test_a_tampered_nonce_or_state_is_caught_by_msal(sandbox):
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=sandbox.callback_url(), response_mode="form_post"
    )
    answer = sandbox.sign_in(flow["auth_uri"], address=ADELE)
    with pytest.raises(ValueError, match="state mismatch"):
        app.acquire_token_by_auth_code_flow(flow, {**answer.fields, "state": "forged"})
    with pytest.raises(RuntimeError, match="nonce"):
        app.acquire_token_by_auth_code_flow({**flow, "nonce": "another"}, answer.fields)
