"""A provider's failure in plain words: the one place a ``ProviderError`` becomes text.

For hosts (Setup: a sync or push that failed, a Connect or Refresh that did not
work) and operators (``calendar_status``). Never includes a token, a URL or a
request body: only what kind of failure it was, and the provider's error code where
that helps support. Errors a provider wrote for the host (what Microsoft answered
at sign-in) are shown as written.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext as _

from calendars.providers import CalendarProvider, ProviderError, get_provider

# What the rows' error fields hold (CharField max_length).
MAX_STORED = 500
# Failures of the connection to the provider rather than answers from it.
TRANSPORT_CODES = frozenset({"Timeout", "ConnectionError", "ServerError", "discovery_failed"})


def error_in_plain_words(error: ProviderError, *, provider: CalendarProvider) -> str:
    """One sentence (without a final full stop) saying what went wrong, in the active
    language."""
    if error.for_host:
        return error.message.rstrip(".")
    names = {"vendor": provider.vendor, "product": provider.name}
    status, code = error.status, error.code
    if error.permanent:
        return _("%(vendor)s no longer accepts the connection; reconnect it in Setup") % names
    if status == 429:
        return _("%(vendor)s was busy (throttled)") % names
    if code == "Timeout":
        return _("%(vendor)s did not answer in time") % names
    if code in ("ConnectionError", "discovery_failed") or (
        status is None and code in ("", "ServerError")
    ):
        return _("we could not reach %(vendor)s (the connection dropped)") % names
    if status is not None and status >= 500:
        return _("%(vendor)s's calendar service was unavailable (%(status)s)") % {
            **names,
            "status": status,
        }
    if code in provider.mailbox_unreachable_codes:
        return (
            _(
                "%(product)s cannot open this account's mailbox (it may have lost its "
                "Exchange Online licence, or be kept on the organisation's own server)"
            )
            % names
        )
    if status == 404:
        return _("the calendar (or the event) no longer exists in %(product)s") % names
    if status == 403:
        return _("%(product)s no longer lets us write to (or read) this calendar") % names
    if status == 400:
        return _("%(product)s refused the request (%(code)s)") % {
            **names,
            "code": code or _("bad request"),
        }
    if code in ("corrupt_cache", "token_key"):
        return _("the stored sign-in could not be read; reconnect the calendar")
    detail = code or (str(status) if status else _("unknown error"))
    return _("%(vendor)s answered with an error (%(detail)s)") % {**names, "detail": detail}


def error_for_action(error: ProviderError, *, provider: CalendarProvider) -> str:
    """The same words for a host's own action in Setup (Connect, Refresh), which changed
    nothing: ends with what to do next."""
    words = error_in_plain_words(error, provider=provider)
    nothing = _("Nothing was changed.")
    text = f"{words[0].upper()}{words[1:]}. {nothing}"
    if error.code in TRANSPORT_CODES or (error.retryable and not error.for_host):
        text += " " + _("Please try again in a minute.")
    return text


def error_stored(error: ProviderError, *, provider_key: str, about: str = "") -> str:
    """A failure as a row keeps it (``Calendar.last_sync_error``): its facts, not words,
    so that ``error_shown`` says it in the language of whoever reads it later (the
    worker that meets the failure has no reader). ``about``: the caller's own name for
    what it was (``error_about``), for words of its own. Compact JSON, under 500
    characters."""
    facts: dict = {"provider": provider_key, "status": error.status, "code": error.code[:100]}
    if error.permanent:
        facts["permanent"] = True
    if about:
        facts["about"] = about[:40]
    message = error.message if error.for_host else None
    while True:
        if message is not None:
            facts["message"] = message
        text = json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
        if len(text) <= MAX_STORED or not message:
            return text
        message = message[: len(message) - (len(text) - MAX_STORED) - 1]


def error_about(stored: str) -> str:
    """The ``about`` a failure was kept with ("" for none, or text kept otherwise)."""
    if not stored.startswith("{"):
        return ""
    try:
        about = json.loads(stored).get("about", "")
    except (ValueError, AttributeError):
        return ""
    return about if isinstance(about, str) else ""


def error_shown(stored: str) -> str:
    """The words of a failure kept by ``error_stored``, in the active language; "" for
    none. Other kept text is a message of the catalogue (``gettext_noop`` where it was
    kept) and reads translated; text kept before there were facts (English words with a
    name in them) reads as it was kept."""
    if not stored:
        return ""
    if not stored.startswith("{"):
        return _(stored)
    try:
        facts = json.loads(stored)
        provider = get_provider(facts["provider"])
        error = ProviderError(
            facts.get("message", ""),
            permanent=bool(facts.get("permanent")),
            status=facts.get("status"),
            code=facts.get("code") or "",
            for_host="message" in facts,
        )
    except (ValueError, KeyError, TypeError):
        return stored
    return error_in_plain_words(error, provider=provider)
