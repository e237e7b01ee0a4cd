"""Identifiers and secrets in the shapes Microsoft uses."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid


def graph_id(prefix: str = "AAMkA") -> str:
    """An Outlook-style item id: URL-safe base64 with padding, e.g. ``AAMkAGI2...AAA=``."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()
    return f"{prefix}{raw}="


def opaque_token(prefix: str) -> str:
    """A long random string for codes and refresh tokens."""
    return prefix + secrets.token_urlsafe(48)


def request_id() -> str:
    return str(uuid.uuid4())


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
