"""The Content-Security-Policy, in one place.

``settings.CONTENT_SECURITY_POLICY`` (django-csp) is the policy of every response:
only our own scripts, styles, images and connections (``default-src 'self'``, no
inline code), no plugins, no ``<base>``, no framing (``frame-ancestors 'none'``) and
forms only to ourselves. This middleware adds what depends on the page:

- Setup pages may send forms on to Microsoft's sign-in (Connect and Reconnect post to
  us and are redirected there; Chrome checks a form's redirects against
  ``form-action``): ``settings.MS_SIGN_IN_ORIGINS``, derived from ``MS_AUTHORITY``.

The public booking, confirmation, reschedule and cancel pages are the ones that
will be embeddable: their ``frame-ancestors`` is to be switched here (and
``X-Frame-Options`` with it), not in the views.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

# Pages whose forms may lead to Microsoft's sign-in page.
SIGN_IN_FORM_PAGES = "/setup/"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path.startswith(SIGN_IN_FORM_PAGES):
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", ()), *settings.MS_SIGN_IN_ORIGINS]
            parts.update = update
        return parts
