"""The authorize endpoint on the TLS listener sends browsers to the plain-http pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect

from graph_sandbox.pagesurl import authorize_url


def authorize_redirect(request: HttpRequest, tenant: str) -> HttpResponseRedirect:
    query = request.META.get("QUERY_STRING", "")
    return HttpResponseRedirect(authorize_url(tenant) + (f"?{query}" if query else ""))
