"""Started sign-ins, kept in the host's session until the callback consumes them.

Each entry is keyed by the OAuth ``state`` and bound to the host and provider
that started it; the MSAL flow (PKCE verifier, nonce) is stored encrypted. An
entry is removed when used, so a replayed answer finds nothing.
"""

from __future__ import annotations

import json
import time

from django.contrib.sessions.backends.base import SessionBase

from calendars import crypto
from calendars.constants import SIGN_IN_MAX_OPEN, SIGN_IN_TTL_SECONDS
from calendars.providers.base import SignIn

SESSION_KEY = "calendar_sign_ins"


def _fresh(entries: dict, now: float) -> dict:
    return {state: e for state, e in entries.items() if now - e["at"] < SIGN_IN_TTL_SECONDS}


def sign_in_remember(
    session: SessionBase, *, sign_in: SignIn, provider_key: str, host_id: int
) -> None:
    """Keep ``sign_in`` for its callback (at most a few open at once, newest kept)."""
    now = time.time()
    entries = _fresh(session.get(SESSION_KEY, {}), now)
    entries[sign_in.state] = {
        "provider": provider_key,
        "host": host_id,
        "at": now,
        "flow": crypto.encrypt(json.dumps(sign_in.flow)),
    }
    newest = sorted(entries.items(), key=lambda item: item[1]["at"])[-SIGN_IN_MAX_OPEN:]
    session[SESSION_KEY] = dict(newest)


def sign_in_consume(
    session: SessionBase, *, state: str, provider_key: str, host_id: int
) -> dict | None:
    """Remove and return the flow started with ``state`` by this host, or None.

    None when the state is unknown, already used, too old, or belongs to another
    host or provider.
    """
    entries = _fresh(session.get(SESSION_KEY, {}), time.time())
    entry = entries.pop(state, None) if state else None
    session[SESSION_KEY] = entries
    if entry is None or entry["host"] != host_id or entry["provider"] != provider_key:
        return None
    try:
        return json.loads(crypto.decrypt(entry["flow"]))
    except (crypto.TokenKeyError, ValueError):
        return None
