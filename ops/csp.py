"""The Content-Security-Policy, in one place.

``settings.CONTENT_SECURITY_POLICY`` (django-csp) is the policy of every response:
only our own scripts, styles, images and connections (``default-src 'self'``, no
inline code), no plugins, no ``<base>``, no framing (``frame-ancestors 'none'``) and
forms only to ourselves. This middleware adds what depends on the page:

- Setup pages may send forms on to Microsoft's sign-in (Connect and Reconnect post to
  us and are redirected there; Chrome checks a form's redirects against
  ``form-action``): ``settings.MS_SIGN_IN_ORIGINS``, derived from ``MS_AUTHORITY``.
- The public booking, confirmation, reschedule and cancel pages (``EMBEDDABLE``) may
  be framed by other sites (the embed): ``frame-ancestors`` is the booking page's list
  of allowed origins (``BookingPage.frame_ancestors``, which the view puts on the
  request as ``frame_ancestors``), or ``*``; they carry no ``X-Frame-Options``.
  Every other page (Setup, log-in, the admin) stays ``frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# Pages whose forms may lead to Microsoft's sign-in page.
SIGN_IN_FORM_PAGES = "/setup/"
# URL names of the pages other sites may frame.
EMBEDDABLE = {"booking:page", "booking:manage", "booking:cancel", "booking:reschedule"}


def is_embeddable(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name in EMBEDDABLE


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        response = super().process_response(request, response)
        if is_embeddable(request):
            # The policy's frame-ancestors rules; browsers that know it ignore this one.
            del response.headers["X-Frame-Options"]
        return response

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        if request.path.startswith(SIGN_IN_FORM_PAGES):
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", ()), *settings.MS_SIGN_IN_ORIGINS]
            parts.update = update
        if is_embeddable(request):
            replace = dict(parts.replace or {})
            replace["frame-ancestors"] = list(getattr(request, "frame_ancestors", None) or ["*"])
            parts.replace = replace
        return parts
