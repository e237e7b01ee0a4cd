"""Contract tests: Microsoft's documented identity and Graph behaviour, over HTTPS.

They run against the Graph sandbox and are written from Microsoft's documentation
(status codes, JSON field names, paging, errors), so any faithful implementation
of those endpoints should pass them.
"""

from __future__ import annotations

import pytest

from graph_sandbox import demo

ADELE = demo.ADELE.address
MEGAN = demo.MEGAN.address
ROOM = demo.RAINIER.address
SCOPES = ["User.Read", "Calendars.ReadWrite"]


@pytest.fixture
def sandbox(graph_sandbox_server):
    return graph_sandbox_server


@pytest.fixture
def http(sandbox):
    """An HTTPS session trusting the sandbox's CA (and nothing from the environment)."""
    return sandbox.session()


@pytest.fixture
def tokens_for(sandbox):
    """Sign a demo user in through MSAL; returns MSAL's token response."""

    def sign_in(address: str = ADELE, scopes: list[str] | None = None) -> dict:
        app = sandbox.msal_app()
        flow = app.initiate_auth_code_flow(
            scopes or SCOPES, redirect_uri=sandbox.callback_url(), response_mode="form_post"
        )
        answer = sandbox.sign_in(flow["auth_uri"], address=address)
        result = app.acquire_token_by_auth_code_flow(flow, answer.fields)
        assert "access_token" in result, result
        return result

    return sign_in


@pytest.fixture
def graph(sandbox, http, tokens_for):
    """Call Graph as a signed-in user: ``graph("GET", "/me", as_=ADELE)``."""
    cache: dict[str, str] = {}

    def call(method: str, path: str, *, as_: str = ADELE, headers: dict | None = None, **kwargs):
        if as_ not in cache:
            cache[as_] = tokens_for(as_)["access_token"]
        url = path if path.startswith("https://") else sandbox.graph_url + path
        all_headers = {"Authorization": f"Bearer {cache[as_]}", **(headers or {})}
        kwargs.setdefault("timeout", 30)
        return http.request(method, url, headers=all_headers, **kwargs)

    return call
