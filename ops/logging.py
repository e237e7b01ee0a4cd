"""A last line of defence: scrub anything token-shaped from log records.

Code must not log secrets in the first place; this filter catches mistakes
(a library logging a request body, an exception quoting a header).
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    # JSON Web Tokens (access and id tokens): three base64url parts.
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    # Authorization headers.
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # key=value or "key": "value" for the usual secret names.
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|client_secret|code_verifier|code|password)"
        r"""["']?\s*[:=]\s*["']?)[^\s"'&,}]{6,}"""
    ),
]
REDACTED = "[redacted]"


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, scrubbed, so the handler never renders it raw.
            traceback_text = logging.Formatter().formatException(record.exc_info)
            cleaned = f"{cleaned}\n{redact(traceback_text)}"
            record.exc_info = None
            record.exc_text = None
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
