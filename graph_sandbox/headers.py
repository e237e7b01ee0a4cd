"""Reading a request header the way WSGI passes it.

Django's ``request.headers`` builds a mapping of every header on its first use, by going
through all of ``META``, which under the sandbox's server holds the process environment
too (``wsgiref`` copies ``os.environ`` into every request): about 70 names turned into
header names for each Graph call, to read one or two headers.
"""

from __future__ import annotations

from django.http import HttpRequest


def request_header(request: HttpRequest, name: str) -> str:
    """The value of header ``name`` (any case), or "" (as ``request.headers.get(name, "")``)."""
    return request.META.get("HTTP_" + name.upper().replace("-", "_"), "")
