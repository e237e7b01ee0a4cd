"""How the MSAL app is built: Microsoft's authority validated, any other one not."""

from __future__ import annotations

import responses

from calendars.providers.office365 import msal_app
from calendars.providers.office365.msal_app import build_msal_app, msal_app_kwargs
from tests.support.microsoft import DISCOVERY_URL, discovery_document


def test_with_microsofts_defaults_msal_validates_the_authority(microsoft_settings):
    kwargs = msal_app_kwargs()
    assert kwargs["authority"] == "https://login.microsoftonline.com/common"
    assert kwargs["validate_authority"] is True
    assert kwargs["instance_discovery"] is False
    assert kwargs["http_cache"] is msal_app._HTTP_CACHE
    assert kwargs["http_client"].trust_env is False
    assert kwargs["http_client"].verify is True
    with responses.RequestsMock() as mock:
        mock.get(DISCOVERY_URL, json=discovery_document())
        app = build_msal_app()
        # Built once more: discovery comes from the shared http_cache, not the network.
        build_msal_app()
        assert len(mock.calls) == 1
    assert app.client_id == microsoft_settings.MS_CLIENT_ID
    assert app.authority.token_endpoint.startswith("https://login.microsoftonline.com/")
    assert app.authority._is_known_to_developer is False  # i.e. validation is on


def test_another_authority_is_used_as_is(microsoft_settings):
    microsoft_settings.MS_AUTHORITY = "https://localhost:8443/common"
    microsoft_settings.MS_CA_BUNDLE = "var/graph_sandbox/ca.pem"
    kwargs = msal_app_kwargs()
    assert kwargs["validate_authority"] is False
    assert kwargs["instance_discovery"] is False
    assert kwargs["http_client"].verify == "var/graph_sandbox/ca.pem"
    base = "https://localhost:8443/common"
    document = {
        **discovery_document(),
        "authorization_endpoint": "http://localhost:8000/graph-sandbox/common/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "issuer": "https://localhost:8443/{tenantid}/v2.0",
    }
    with responses.RequestsMock() as mock:
        mock.get(f"{base}/v2.0/.well-known/openid-configuration", json=document)
        app = build_msal_app()
        # Instance discovery is off: nothing was asked of Microsoft's discovery host.
        assert [call.request.url for call in mock.calls] == [
            f"{base}/v2.0/.well-known/openid-configuration"
        ]
    assert app.authority._is_known_to_developer is True


def test_our_scopes_are_read_in_whatever_spelling_a_token_answer_uses():
    short = "Calendars.ReadWrite User.Read openid profile"
    documented = (
        "https://graph.microsoft.com/Calendars.ReadWrite https://graph.microsoft.com/User.Read"
    )
    lower = "https://graph.microsoft.com/user.read https://graph.microsoft.com/calendars.readwrite"
    assert msal_app.scopes_as_granted(short) == ["User.Read", "Calendars.ReadWrite"]
    assert msal_app.scopes_as_granted(documented) == [
        "https://graph.microsoft.com/User.Read",
        "https://graph.microsoft.com/Calendars.ReadWrite",
    ]
    assert msal_app.scopes_as_granted(lower) == lower.split()
    assert msal_app.scopes_as_granted("User.Read openid") is None  # not what we need
