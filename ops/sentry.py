"""Error reporting to Sentry (``SENTRY_DSN``) for the web and the workers, without personal data.

sentry-sdk finds Django, Celery and logging by itself. What it sends is held to this:

- ``send_default_pii`` off: no user, IP address, cookies or headers it knows as personal.
  It is left unset, which is off: sentry-sdk 2.75 deprecates the option (warning when
  given) in favour of ``data_collection``, and treats it unset as off.
- No request bodies (``max_request_body_size="never"``): a booking's body holds the
  invitee's name, e-mail and answers. No local variables of stack frames: their
  rendering can hold anything (an invitee, a token), unreadable to a key-based scrub.
- ``event_scrub`` (``before_send`` and ``before_breadcrumb``) walks everything that is
  left: values under personal or secret keys (e-mail, name, answers, tokens, …) are
  replaced; e-mail addresses and token-shaped strings anywhere else are blanked
  (``ops.logging.redact_access``: a booking's, invitation's or reset link's key too).
"""

from __future__ import annotations

import re
from typing import Any

from ops.logging import redact_access

FILTERED = "[Filtered]"
EMAIL_TEXT = "[email]"
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Keys whose values are personal data or secrets, wherever they appear in an event.
_SENSITIVE_KEY = re.compile(
    r"(?i)(e-?mail|invitee|answer|question_|phone|token|secret|password|passwd|"
    r"authorization|cookie|session|csrf|api_?key|client_state|delta_link|code_verifier|"
    r"refresh|access_key|signature)"
)
# Keys that name things, not secrets: kept (``client_reports`` counts, an exception's type).
_PLAIN_KEYS = frozenset({"logger", "type", "module", "function", "filename", "abs_path"})


def is_sensitive_key(key: object) -> bool:
    text = str(key)
    if text in _PLAIN_KEYS:
        return False
    return bool(_SENSITIVE_KEY.search(text))


def scrub_text(text: str) -> str:
    # With the keys in addresses: an event's request URL may be an invitee's link.
    return _EMAIL.sub(EMAIL_TEXT, redact_access(text))


def scrub(value: Any) -> Any:
    """A copy of ``value`` with sensitive keys filtered and every string scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: FILTERED if is_sensitive_key(key) and item not in (None, "") else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    return value


def event_scrub(event: dict, hint: dict | None = None) -> dict:
    """``before_send``: the event, scrubbed (never dropped: the error is still reported)."""
    return scrub(event)


def breadcrumb_scrub(crumb: dict, hint: dict | None = None) -> dict:
    return scrub(crumb)


def sentry_init(*, dsn: str, environment: str = "", release: str = "", **options: Any) -> None:
    """Turn error reporting on for this process (web or worker). ``options`` are for tests
    (a transport of their own)."""
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=event_scrub,
        before_breadcrumb=breadcrumb_scrub,
        traces_sample_rate=0,
        **options,
    )
