"""Provider failures in plain words, for hosts (Setup) and operators (calendar_status).

Never includes a token, a URL or a request body: only what kind of failure it
was, and the provider's error code where that helps support.
"""

from __future__ import annotations

from calendars.providers import ProviderError


def error_in_plain_words(error: ProviderError, *, provider_name: str = "Microsoft") -> str:
    """One sentence (without a final full stop) saying what went wrong."""
    status, code = error.status, error.code
    if error.permanent:
        return f"{provider_name} no longer accepts the connection; reconnect it in Setup"
    if status == 429:
        return f"{provider_name} was busy (throttled)"
    if code == "Timeout":
        return f"{provider_name} did not answer in time"
    if code == "ConnectionError" or (status is None and code in ("", "ServerError")):
        return f"we could not reach {provider_name} (the connection dropped)"
    if status is not None and status >= 500:
        return f"{provider_name}'s calendar service was unavailable ({status})"
    if status == 404:
        return "the calendar (or the event) no longer exists in Office 365"
    if status == 403:
        return "Office 365 no longer lets us write to (or read) this calendar"
    if status == 400:
        return f"Office 365 refused the request ({code or 'bad request'})"
    if code == "corrupt_cache" or code == "token_key":
        return "the stored sign-in could not be read; reconnect the calendar"
    detail = code or (str(status) if status else "unknown error")
    return f"{provider_name} answered with an error ({detail})"
