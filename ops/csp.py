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

The header is django-csp's own text (``csp.utils.build_policy``), built once per kind
of page and process and kept: django-csp's ``process_response`` would build the policy
parts twice for every response (the second time for a report-only header we do not
send), deep-copying them each time.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponseBase

# Pages whose forms may lead to Microsoft's sign-in page.
SIGN_IN_FORM_PAGES = "/setup/"
# URL names of the pages other sites may frame.
EMBEDDABLE = {"booking:page", "booking:manage", "booking:cancel", "booking:reschedule"}


def is_embeddable(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name in EMBEDDABLE


Frozen = tuple[tuple[str, tuple[str, ...]], ...]


def _frozen(directives: dict | None) -> Frozen | None:
    """``directives`` as a cache key; None when a value is not a list of words (a
    decorator's odd value: built afresh every time)."""
    key = []
    for name, values in (directives or {}).items():
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
            return None
        key.append((name, tuple(values)))
    return tuple(sorted(key))


@lru_cache(maxsize=512)
def _policy_text(update: Frozen, replace: Frozen) -> str:
    """The header of one kind of page: ``settings.CONTENT_SECURITY_POLICY`` with
    ``update`` and ``replace`` (django-csp's own ``build_policy``, so its very text)."""
    return build_policy(
        update={name: list(values) for name, values in update} or None,
        replace={name: list(values) for name, values in replace} or None,
    )


def _forget_policies(*, setting: str, **_kwargs) -> None:
    if setting == "CONTENT_SECURITY_POLICY":
        _policy_text.cache_clear()


setting_changed.connect(_forget_policies, dispatch_uid="ops.csp.forget_policies")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None):
            response = super().process_response(request, response)  # both headers
        else:
            self._set_policy(request, response)
        if is_embeddable(request):
            # The policy's frame-ancestors rules; browsers that know it ignore this one.
            del response.headers["X-Frame-Options"]
        return response

    def _set_policy(self, request: HttpRequest, response: HttpResponseBase) -> None:
        """What django-csp's ``process_response`` does for the one header we send."""
        if settings.DEBUG and response.status_code in (404, 500):
            return  # Django's debug pages have inline code
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        prefixes = tuple(policy.get("EXCLUDE_URL_PREFIXES") or ())
        wanted = not getattr(response, "_csp_exempt", False) and HEADER not in response
        if wanted and not request.path_info.startswith(prefixes):
            text = self._policy(request, response)
            if text:
                response[HEADER] = text
        if getattr(request, "_csp_nonce", None) is None:
            # As django-csp: a nonce asked for after the header is written is an error.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)

    def _policy(self, request: HttpRequest, response: HttpResponseBase) -> str:
        parts = self.get_policy_parts(request, response)
        update, replace = _frozen(parts.update), _frozen(parts.replace)
        if parts.config is not None or parts.nonce or update is None or replace is None:
            return build_policy(**asdict(parts))  # a view's own policy or a nonce: as is
        return _policy_text(update, replace)

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
