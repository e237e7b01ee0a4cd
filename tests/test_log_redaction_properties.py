"""Property tests: a secret in an access line is scrubbed however its address was encoded.

A link that carries a key (a password reset, an invitation, a booking's manage link, the
sign-in hand-over) or a ``code=``/``access_token=`` value reaches the access log inside
another address too: the log-in page's ``next=``, a referer, a mail scanner's wrapper.
There it is percent-encoded once, twice, with lower- or upper-case hex, every character
or only the reserved ones, spaces as ``+``. None of those may carry it into a log.
"""

from __future__ import annotations

import string
from urllib.parse import quote, unquote, unquote_plus

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ops.logging import REDACTED, redact, redact_access

PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

URLSAFE = string.ascii_letters + string.digits + "_-"
HEX = "0123456789abcdef"


def _text(alphabet: str, low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=low, max_size=high)


ADDRESS_KEYS = ("reset", "invitation", "booking", "handoff")
QUERY_SECRETS = ("query", "bearer")


@st.composite
def address_with_a_secret(draw, kinds=ADDRESS_KEYS + QUERY_SECRETS) -> tuple[str, str]:
    """(an address or query that carries a secret, the secret)."""
    kind = draw(st.sampled_from(kinds))
    if kind == "reset":
        secret = draw(_text(HEX, 6, 6)) + "-" + draw(_text(HEX, 32, 32))
        return f"/accounts/reset/MQ/{secret}/", secret
    if kind == "invitation":
        secret = draw(_text(URLSAFE + ".:", 16, 60))
        return f"/accounts/invitations/{secret}/", secret
    if kind == "booking":
        secret = draw(_text(URLSAFE, 20, 60))
        action = draw(st.sampled_from(["", "cancel/", "reschedule/"]))
        booking_id = draw(_text(HEX, 32, 32))
        assume(secret not in booking_id)  # the id stays readable
        return f"/bookings/{booking_id}:{secret}/{action}", secret
    if kind == "handoff":
        secret = f"{draw(st.integers(1, 10**6))}-{draw(_text(HEX, 16, 32))}"
        return f"/setup/integration/calendar/office365/callback/?handoff={secret}", secret
    if kind == "query":
        name = draw(st.sampled_from(["code", "access_token", "refresh_token", "client_secret"]))
        secret = draw(_text(URLSAFE + ".~", 16, 60))
        return f"/setup/integration/calendar/done/?state=abc&{name}={secret}&x=1", secret
    secret = draw(_text(URLSAFE, 16, 60))
    return f"/api/v1/bookings?authorization=Bearer {secret}", secret


@st.composite
def encoded(draw, text: str) -> str:
    """``text`` percent-encoded one to three times, each time one of the ways clients do."""
    for _ in range(draw(st.integers(1, 3))):
        way = draw(st.sampled_from(["reserved", "keep-slashes", "every-character", "plus"]))
        if way == "every-character":
            text = "".join(f"%{byte:02X}" for byte in text.encode())
        elif way == "keep-slashes":
            text = quote(text, safe="/")
        elif way == "plus":
            text = quote(text, safe=" ").replace(" ", "+")
        else:
            text = quote(text, safe="")
        if draw(st.booleans()):
            text = _hex_in_random_case(draw, text)
    return text


def _hex_in_random_case(draw, text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "%":
            pair = text[i + 1 : i + 3]
            out.append("%" + (pair.lower() if draw(st.booleans()) else pair.upper()))
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _every_reading(line: str) -> list[str]:
    """The line, and the line decoded again and again (``+`` as itself and as a space)."""
    readings = [line]
    for decode in (unquote, unquote_plus):
        current = line
        for _ in range(8):
            current = decode(current)
            readings.append(current)
    return readings


@st.composite
def access_line(draw) -> tuple[str, str]:
    """(a gunicorn-style access line with the secret's address inside another, the secret)."""
    inner, secret = draw(address_with_a_secret())
    wrapped = draw(encoded(inner))
    where = draw(st.sampled_from(["next", "referer-next", "query"]))
    if where == "next":
        line = f'"GET /accounts/login/?next={wrapped} HTTP/1.1" 200 1234 "-" "Mozilla/5.0"'
    elif where == "referer-next":
        referer = f"https://book.example.com/accounts/login/?next={wrapped}"
        line = f'"GET /setup/ HTTP/1.1" 302 0 "{referer}" "-"'
    else:
        line = f"next={wrapped}"
    return line, secret


@PROPERTY_SETTINGS
@given(access_line())
def test_no_encoding_carries_a_secret_into_an_access_line(case):
    line, secret = case
    cleaned = redact_access(line)
    for reading in _every_reading(cleaned):
        assert secret not in reading
    assert REDACTED in unquote(cleaned)


@PROPERTY_SETTINGS
@given(address_with_a_secret(kinds=QUERY_SECRETS))
def test_an_encoded_query_secret_is_scrubbed_from_any_log_line(case):
    # Keys in addresses are scrubbed from access lines only (a worker prints emails).
    inner, secret = case
    for line in (f"fetching {quote(inner, safe='')} failed", f"url={quote(quote(inner))}"):
        assert secret not in unquote(unquote(redact(line)))


@PROPERTY_SETTINGS
@given(
    st.lists(_text(string.ascii_lowercase + string.digits + "-._~", 1, 12), min_size=1, max_size=5),
    st.sampled_from(["", "?page=2&q=ann%20lee", "?tab=past&from=2026-01-01", "?next=%2Fsetup%2F"]),
)
def test_lines_without_secrets_are_left_as_they_were(parts, query):
    line = f'"GET /{"/".join(parts)}/{query} HTTP/1.1" 200 512 "-" "Mozilla/5.0"'
    assert redact_access(line) == line
    assert redact(line) == line


def test_a_fully_encoded_next_address_loses_its_reset_key_and_stays_readable():
    key = "cf1a2b-0123456789abcdef0123456789abcdef"
    inner = "".join(f"%{byte:02x}" for byte in f"/accounts/reset/MQ/{key}/".encode())
    cleaned = redact_access(f'"GET /accounts/login/?next={inner} HTTP/1.1" 200 10')
    assert key not in unquote(cleaned)
    assert cleaned == (
        f'"GET /accounts/login/?next=/accounts/reset/MQ/{REDACTED}/ HTTP/1.1" 200 10'
    )
