"""Where the sandbox's browser pages are served (sign-in, consent, the mailbox page)."""

from __future__ import annotations

from django.conf import settings

from graph_sandbox import store

PAGES_PREFIX = "/graph-sandbox"


def pages_base_url() -> str:
    """Scheme, host and port of the web server showing the pages (no trailing slash).

    ``make run`` serves them from the product's web server; tests may point them
    at their own server (``control.pages_url_set``): between requests, so within an API
    request the settings row it first read is used.
    """
    return (store.request_settings().pages_url or settings.GRAPH_SANDBOX_PAGES_URL).rstrip("/")


def authorize_url(tenant_segment: str) -> str:
    return f"{pages_base_url()}{PAGES_PREFIX}/{tenant_segment}/oauth2/v2.0/authorize"
