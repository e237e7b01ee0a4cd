"""A provider's failure in plain words: the one place a ``ProviderError`` becomes text.

For hosts (Setup: a sync or push that failed, a Connect or Refresh that did not
work) and operators (``calendar_status``). Never includes a token, a URL or a
request body: only what kind of failure it was, and the provider's error code where
that helps support. Errors a provider wrote for the host (what Microsoft answered
at sign-in) are shown as written.
"""

from __future__ import annotations

from calendars.providers import CalendarProvider, ProviderError

# Failures of the connection to the provider rather than answers from it.
TRANSPORT_CODES = frozenset({"Timeout", "ConnectionError", "ServerError", "discovery_failed"})


def error_in_plain_words(error: ProviderError, *, provider: CalendarProvider) -> str:
    """One sentence (without a final full stop) saying what went wrong."""
    if error.for_host:
        return error.message.rstrip(".")
    vendor, product = provider.vendor, provider.name
    status, code = error.status, error.code
    if error.permanent:
        return f"{vendor} no longer accepts the connection; reconnect it in Setup"
    if status == 429:
        return f"{vendor} was busy (throttled)"
    if code == "Timeout":
        return f"{vendor} did not answer in time"
    if code in ("ConnectionError", "discovery_failed") or (
        status is None and code in ("", "ServerError")
    ):
        return f"we could not reach {vendor} (the connection dropped)"
    if status is not None and status >= 500:
        return f"{vendor}'s calendar service was unavailable ({status})"
    if status == 404:
        return f"the calendar (or the event) no longer exists in {product}"
    if status == 403:
        return f"{product} no longer lets us write to (or read) this calendar"
    if status == 400:
        return f"{product} refused the request ({code or 'bad request'})"
    if code in ("corrupt_cache", "token_key"):
        return "the stored sign-in could not be read; reconnect the calendar"
    detail = code or (str(status) if status else "unknown error")
    return f"{vendor} answered with an error ({detail})"


def error_for_action(error: ProviderError, *, provider: CalendarProvider) -> str:
    """The same words for a host's own action in Setup (Connect, Refresh), which changed
    nothing: ends with what to do next."""
    words = error_in_plain_words(error, provider=provider)
    text = f"{words[0].upper()}{words[1:]}. Nothing was changed."
    if error.code in TRANSPORT_CODES or (error.retryable and not error.for_host):
        text += " Please try again in a minute."
    return text
