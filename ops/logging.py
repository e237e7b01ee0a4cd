"""Log lines: the context they carry, their two formats, and scrubbing secrets from them.

- ``log_context``: what the current request or Celery task is (request id, task name
  and id), bound per thread or task; ``LogContextFilter`` puts it on every record.
- ``TextFormatter`` (readable lines) and ``JsonFormatter`` (``LOG_FORMAT=json``: one
  object per line) carry the same fields: the context, and the ``row=``, ``booking=``,
  ``connection=``, ``calendar=`` a message names.
- ``RedactSecretsFilter``: a last line of defence that scrubs anything token-shaped.
  Code must not log secrets in the first place; this filter catches mistakes (a
  library logging a request body, an exception quoting a header).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote, unquote

# Where a pattern reads "a space", an address may hold "+" (form encoding) instead.
_PATTERNS = [
    # JSON Web Tokens (access and id tokens): three base64url parts.
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    # Webhook signing secrets and personal access tokens (integrations), whole.
    re.compile(r"whsec_[A-Za-z0-9+/=]{8,}|so_pat_[A-Za-z0-9_-]{8,}"),
    # Authorization headers.
    re.compile(r"(?i)(bearer[\s+]+)[A-Za-z0-9._~+/=-]{8,}"),
    # key=value or "key": "value" for the usual secret names.
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|client_secret|code_verifier|code|password)"
        r"""["']?[\s+]*[:=][\s+]*["']?)[^\s"'&,}]{6,}"""
    ),
]
# Addresses that are themselves the key, in the web server's access lines (request line
# and referer): a password reset link's token, an invitation's token, a booking's
# signature (its id stays readable) and a sign-in hand-over's one-time handle. Only
# there: locally the emails a worker prints must keep their links (README, "A short tour").
# Case-insensitive: the key in "/Accounts/Reset/…" is no less a key for the 404.
_ADDRESS_PATTERNS = [
    re.compile(r"(?i)(/accounts/reset/[^/\s]+/)(?!set-password/)[^/\s?\"']+"),
    re.compile(r"(?i)(/accounts/invitations/)[^/\s?\"']+"),
    re.compile(r"(?i)(/bookings/[0-9a-f]{32}(?::|%3A))[^/\s?\"']+"),
    re.compile(r"(?i)((?:^|[?&\s])handoff=)[^&\s\"']+"),
]
REDACTED = "[redacted]"

# A run of address-like text holding at least one percent escape. Quotes and spaces end
# it: they separate the fields of an access line.
_ENCODED_WORD = re.compile(r"""[^\s"']*%[0-9A-Fa-f]{2}[^\s"']*""")
# Addresses are encoded once, sometimes twice (a link inside ``next=`` inside a mail
# scanner's wrapper); anything still encoded after this many readings is dropped whole.
_MAX_DECODINGS = 8
# What stays unencoded when a scrubbed address is written back: enough to read it.
_READABLE = "/:?=&;,+@!$()*[]~._-"


def _scrub(text: str, patterns: list[re.Pattern]) -> str:
    for pattern in patterns:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _scrub_decoded(word: str, patterns: list[re.Pattern]) -> str:
    """``word`` unchanged when no reading of it holds a secret; otherwise decoded, with every
    secret that any of its readings showed replaced, and encoded once for the log line.

    Each reading is scrubbed before the next decoding, so a secret is caught at whatever
    depth it became readable and ``[redacted]`` (no escapes) survives the decodings after.
    """
    current, found = word, False
    for _ in range(_MAX_DECODINGS):
        scrubbed = _scrub(current, patterns)
        found = found or scrubbed != current
        decoded = unquote(scrubbed)
        if decoded == scrubbed:
            return quote(scrubbed, safe=_READABLE) if found else word
        current = decoded
    return REDACTED


def redact(text: str, patterns: list[re.Pattern] = _PATTERNS) -> str:
    """``text`` with anything secret-shaped replaced by ``[redacted]``, whether it is written
    plainly or percent-encoded (any depth, either case of hex, ``+`` for spaces)."""
    text = _scrub(text, patterns)
    if "%" in text:
        text = _ENCODED_WORD.sub(lambda m: _scrub_decoded(m.group(0), patterns), text)
    return text


def redact_access(text: str) -> str:
    """``redact`` and the keys in addresses: for access lines (runserver's, gunicorn's)."""
    return redact(text, _PATTERNS + _ADDRESS_PATTERNS)


class RedactSecretsFilter(logging.Filter):
    def __init__(self, name: str = "", *, addresses: bool = False) -> None:
        super().__init__(name)
        self.scrub = redact_access if addresses else redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrub = self.scrub
        cleaned = scrub(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, scrubbed, so no formatter ever renders it raw
            # (formatters print ``exc_text`` when there is no ``exc_info``).
            traceback_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = scrub(traceback_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# A Host header worth naming in a log line: a host name or address, with a port, as Django
# validates them. Anything else (a scanner's probe, a URL, a credential) is not repeated.
_HOST_NAME = re.compile(r"^([a-z0-9.-]{1,253}|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]{1,5})?$")


class RefusedHostFilter(logging.Filter):
    """For ``django.security.DisallowedHost``: a request for a host this site does not serve
    (``ALLOWED_HOSTS``) is the client's mistake or a scanner's probe, not ours. Django logs
    it at ERROR with a traceback, which pages the operator (and Sentry) for every scan;
    here it becomes one WARNING line without the traceback, naming the host only when it is
    a plain host name. The 400 page is unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        host = request.META.get("HTTP_HOST", "").lower() if request is not None else ""
        record.msg = "Refused a request for a host this site does not serve (ALLOWED_HOSTS): %s"
        record.args = (host if _HOST_NAME.match(host) else "(not a host name)",)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


# --- context --------------------------------------------------------------------------

# Fields bound for the current request or task (request_id, task, task_id).
CONTEXT_FIELDS = ("request_id", "task", "task_id")
_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "log_context", default=None
)


def log_context() -> dict[str, str]:
    return _context.get() or {}


def request_id() -> str | None:
    return log_context().get("request_id")


def log_context_set(**fields: str | None) -> contextvars.Token:
    """Bind ``fields`` (on top of what is bound) until ``log_context_reset(token)``."""
    merged = {**log_context(), **{k: str(v) for k, v in fields.items() if v}}
    return _context.set(merged)


def log_context_reset(token: contextvars.Token) -> None:
    _context.reset(token)


def log_context_clear() -> None:
    _context.set({})


@contextlib.contextmanager
def log_context_bound(**fields: str | None) -> Iterator[None]:
    token = log_context_set(**fields)
    try:
        yield
    finally:
        log_context_reset(token)


class LogContextFilter(logging.Filter):
    """Puts the bound context on the record (``record.request_id`` …, None when unbound)."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = log_context()
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, bound.get(name))
        return True


# --- formats --------------------------------------------------------------------------

# What a message names, as our lines write it: "row=12", "connection=3", "booking=7",
# "booking:<uuid>" (a pushed event's source), "calendar=5".
_NAMED = re.compile(r"\b(row|booking|connection|calendar)[=:]([A-Za-z0-9-]+)")
NAMED_FIELDS = ("row", "booking", "connection", "calendar")


def named_fields(message: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in _NAMED.findall(message):
        found.setdefault(key, value)
    return found


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message``, then ``[request_id=… task=… task_id=…]`` when bound."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)  # the traceback, if any, comes after this
        bound = [f"{n}={v}" for n in CONTEXT_FIELDS if (v := getattr(record, n, None))]
        return f"{line} [{' '.join(bound)}]" if bound else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound context and
    the fields the message names (row, booking, connection, calendar), and the
    traceback as ``exception``. Every string is scrubbed again here (a formatter may be
    used without ``RedactSecretsFilter``)."""

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        for name in CONTEXT_FIELDS:
            if value := getattr(record, name, None):
                entry[name] = redact(str(value))
        for name, value in named_fields(message).items():
            entry[name] = int(value) if value.isdigit() else value
        for name in NAMED_FIELDS:  # given with extra={...} wins over the message's
            if (value := record.__dict__.get(name)) is not None:
                entry[name] = value if isinstance(value, int) else redact(str(value))
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)
