"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret is ``whsec_`` followed by the base64 of 32 random bytes. A signature is
``v1,`` and the base64 of HMAC-SHA256, keyed with the secret's bytes, over
``<webhook-id>.<webhook-timestamp>.<body>``. ``webhook-signature`` may carry several,
separated by spaces: during a rotation we sign with the new and the old secret, so a
receiver that still has either one verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("not a webhook signing secret")
    return base64.b64decode(secret[len(SECRET_PREFIX) :])


def signature(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """One ``v1,<base64>`` signature of ``body`` as sent with ``message_id`` at ``timestamp``."""
    content = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(*, secrets_: list[str], message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value: one signature per valid secret, space-separated."""
    return " ".join(
        signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
        for secret in secrets_
    )


def headers(*, secrets_: list[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """Every header of one delivery attempt (besides the transport's own)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "ScheduleOnce-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            secrets_=secrets_, message_id=message_id, timestamp=timestamp, body=body
        ),
    }
