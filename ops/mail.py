"""The product's email messages and SMTP backend: Django's, made cheaper for the worker.

``Email``: non-ASCII headers in base64 encoded words.

Django encodes a header that is not ASCII (a German subject, a time zone's em dash) with
``email.header.Header`` in the message's charset. For UTF-8 the standard library picks
the shorter of quoted-printable ("Q") and base64 ("B") encoded words, and splits Q words
by measuring every prefix of each line again, byte by byte
(``email.charset.Charset.header_encode_lines``): about 2,000 Python calls for a booking
confirmation's subject, over half of Django's ``message()`` for it. B words (``message()``
0.33 -> 0.19 ms; 0.14 with an ASCII subject) are split at the same places as the standard
library splits them, but from the text's UTF-8 bytes, a few calls a line, rather than by
encoding every prefix again (``_Base64HeaderCharset``). Both are RFC 2047 encoded words
that every mail client decodes to the same text; a B subject is longer on the wire (a
third over its UTF-8 bytes), which no reader sees.

``SMTPBackend`` (``EMAIL_URL`` smtp://, smtp+tls://): one TLS context per process.
Django makes a backend for every message sent, and each made its own
``ssl.create_default_context()``, which parses the system's CA certificates: about 24 ms
of CPU here for every email, three per booking, before the TLS handshake (about 0.8 ms).

``mail_connection()``: one connection to the mail server for the emails sent inside it,
and inside ``connections_kept()`` (around a bundle of outbox items: a booking's
confirmations and, after its calendar push, its join-link email) one for all of them.
A kept connection is asked ``NOOP`` before it is used again: one that the server dropped
meanwhile is replaced by a new one before any message goes, so no email is sent twice
on its account; an error while sending closes it and is raised as without keeping.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email import base64mime, charset
from email._policybase import Compat32

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends import smtp
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, SafeMIMEText
from django.utils.functional import cached_property

logger = logging.getLogger(__name__)


class _Base64HeaderCharset(charset.Charset):
    """UTF-8 with headers as base64 encoded words, split where the standard library splits
    them, from the text's UTF-8 bytes.

    The standard library's ``header_encode_lines`` encodes every prefix of the text again
    to measure it (quadratic in its length: about 130 prefixes of a booking's subject).
    A B word's length follows from its bytes' count alone (4 characters for every 3 bytes
    begun), so the same split points (the longest prefix that fits each line, one
    character on a line of its own however long) are found in the text's bytes: the most
    bytes a line takes, moved back to the start of the character they would cut. (Until
    2026-12-07 this added up each character's bytes in turn: four Python calls a character,
    about 450 for a booking's subject.)
    """

    def header_encode_lines(self, string: str, maxlengths) -> list[str | None]:
        codec = self.output_codec or "us-ascii"
        if codec != "utf-8":
            return super().header_encode_lines(string, maxlengths)
        extra = len(self.get_output_charset()) + charset.RFC2047_CHROME_LEN
        data = string.encode(codec)
        lines: list[str | None] = []
        start = 0
        while True:
            room = max(next(maxlengths) - extra, 0) // 4 * 3  # bytes whose B word fits
            end = _character_start(data, min(start + room, len(data)))
            if end == start and end < len(data):
                if not lines:
                    lines.append(None)  # nothing fits on the first line
                    continue
                end = _character_start(data, start + 1, forward=True)  # one, however long
            lines.append(base64mime.header_encode(data[start:end], charset=codec))
            if end >= len(data):
                return lines
            start = end


def _character_start(data: bytes, at: int, *, forward: bool = False) -> int:
    """The start of the UTF-8 character that byte ``at`` of ``data`` belongs to (the next
    character's, ``forward``); ``len(data)`` at its end."""
    step = 1 if forward else -1
    while 0 < at < len(data) and data[at] & 0xC0 == 0x80:  # a continuation byte
        at += step
    return at


# UTF-8 as Django uses it, but headers always as base64 encoded words (bodies are
# not encoded with it: Django picks 8bit or quoted-printable for them as before).
HEADER_CHARSET = _Base64HeaderCharset("utf-8")
HEADER_CHARSET.header_encoding = charset.BASE64


# A header value the standard library writes as it is when its line fits: printable ASCII
# words with one space between them (no tab, no line break, no space at either end).
_PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")


class ShortHeaderPolicy(Compat32):
    """The standard library's ``compat32`` policy (what Django's messages use), writing a
    header whose line fits unfolded without building an ``email.header.Header`` for it.

    ``compat32`` folds every header through ``Header(value).encode()``, whose line
    splitter takes about 80 Python calls even for ``MIME-Version: 1.0``: about 4,000 of a
    booking's three emails, a sixth of the worker's calls for a booking with SMTP. For a
    plain value (``_PLAIN_VALUE``) whose line is within ``max_line_length``, that splitter
    keeps the value as it is (it only splits at spaces, and only past the limit), so the
    line is written directly: the same bytes (a test compares both for many values).
    Everything else goes through ``compat32`` itself."""

    def _fold(self, name: str, value, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and (not self.max_line_length or len(name) + 2 + len(value) <= self.max_line_length)
            and _PLAIN_VALUE.fullmatch(value)
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


SHORT_HEADERS = ShortHeaderPolicy()


def text_part(content: str, subtype: str, encoding: str) -> SafeMIMEText:
    """The part Django's ``SafeMIMEText(content, subtype, encoding)`` makes, the same in
    every attribute (so the same bytes), without making it: about 290 Python calls a part
    (``set_charset`` parsing ``Content-Type`` again through ``set_param``, the 7/8-bit
    check decoding the payload) against about 15.

    For UTF-8 text whose lines are all within RFC 5322's 998 bytes, such a part differs
    from another of the same subtype only in its payload (the text's UTF-8 bytes as
    surrogate-escaped ASCII) and in ``7bit``/``8bit``, so it is copied from one made by
    Django for that subtype and kind and given its payload. Anything else (another
    charset, a longer line, which Django sends quoted-printable, a text that is not valid
    UTF-8) is made by Django as before."""
    if encoding != "utf-8":
        return SafeMIMEText(content, subtype, encoding)
    try:
        data = content.encode("utf-8")
    except UnicodeEncodeError:
        return SafeMIMEText(content, subtype, encoding)
    # bytes split at fewer characters than str.splitlines (which Django measures), so its
    # lines are never shorter: within the limit here means within it there.
    if data and max(map(len, data.splitlines())) > RFC5322_EMAIL_LINE_LENGTH_LIMIT:
        return SafeMIMEText(content, subtype, encoding)
    part = SafeMIMEText.__new__(SafeMIMEText)
    part.__dict__.update(_text_part_model(subtype, data.isascii()).__dict__)
    part._headers = list(part._headers)
    part.defects = []
    part._payload = data.decode("ascii", "surrogateescape")
    return part


@functools.lru_cache(maxsize=64)
def _text_part_model(subtype: str, ascii: bool) -> SafeMIMEText:
    """A UTF-8 part of ``subtype`` made by Django, its text ASCII (``7bit``) or not."""
    return SafeMIMEText("a" if ascii else "\u00e4", subtype, "utf-8")


class Email(EmailMultiAlternatives):
    """``EmailMultiAlternatives`` whose non-ASCII headers (Subject, a non-ASCII display
    name in an address) are B-encoded, and whose short headers are written without the
    standard library's folding machinery (``ShortHeaderPolicy``: the same bytes).
    Everything else is Django's: the body's and the attachments' encoding, the header
    checks (no line breaks), the sending."""

    def _create_message(self, msg):
        # Django sets Subject, From, To, Reply-To and the extra headers on the part this
        # returns, each encoded in that part's ``encoding`` (SafeMIMEText/Multipart).
        message = super()._create_message(msg)
        if (self.encoding or settings.DEFAULT_CHARSET).lower() in ("utf-8", "utf8"):
            message.encoding = HEADER_CHARSET
        # The generator writes every part with the message's policy (``as_bytes``).
        message.policy = SHORT_HEADERS
        return message

    def _create_mime_attachment(self, content, mimetype):
        # A text attachment (the .ics) as Django makes it, made more cheaply (text_part).
        basetype, subtype = mimetype.split("/", 1)
        if basetype == "text" and isinstance(content, str):
            return text_part(content, subtype, self.encoding or settings.DEFAULT_CHARSET)
        return super()._create_mime_attachment(content, mimetype)


class SMTPBackend(smtp.EmailBackend):
    """Django's SMTP backend, its server certificate checked with a TLS context made once
    per process (the same settings: ``ssl.create_default_context()``). With a client
    certificate (``EMAIL_SSL_CERTFILE``/``KEYFILE``) each backend makes its own, as Django's."""

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        if self.ssl_certfile or self.ssl_keyfile:
            return super().ssl_context
        return default_tls_context()


@functools.cache
def default_tls_context() -> ssl.SSLContext:
    """The system's CA certificates, hostname checked (an SSLContext is safe to share
    between threads; nothing here changes it after it is made)."""
    return ssl.create_default_context()


# The connection kept for the scope of ``connections_kept`` (a list of at most one).
_kept: contextvars.ContextVar[list[BaseEmailBackend] | None] = contextvars.ContextVar(
    "mail_connection_kept", default=None
)


@contextmanager
def connections_kept() -> Iterator[None]:
    """Inside, every ``mail_connection()`` hands out the same connection (opened when an
    email first needs it, checked before each later use); closed when this ends."""
    holder: list[BaseEmailBackend] = []
    token = _kept.set(holder)
    try:
        yield
    finally:
        _kept.reset(token)
        while holder:
            _close_quietly(holder.pop())


@contextmanager
def mail_connection(*, needed: bool = True) -> Iterator[BaseEmailBackend]:
    """A connection to the mail server for the emails sent inside (``connection=``): Django
    otherwise opens and closes one per message, with smtp+tls a TLS handshake each.
    ``needed``: some email will be sent (else nothing is opened). Outside
    ``connections_kept`` it is closed at the end; closing never fails the caller. Errors
    opening it or sending are raised (smtplib.SMTPException, OSError)."""
    holder = _kept.get()
    if holder is None or not needed:
        backend = get_connection()
        try:
            if needed:
                backend.open()
            yield backend
        finally:
            _close_quietly(backend)
        return
    backend = _kept_connection(holder)
    try:
        yield backend
    except BaseException:
        # In an unknown state after an error (half a message sent?): not used again.
        holder.remove(backend)
        _close_quietly(backend)
        raise


def _kept_connection(holder: list[BaseEmailBackend]) -> BaseEmailBackend:
    """The kept connection if it still answers, else a new one (kept once it is open)."""
    if holder and still_open(holder[0]):
        return holder[0]
    while holder:
        _close_quietly(holder.pop())  # the server dropped it (idle timeout, restart)
    backend = get_connection()
    backend.open()
    holder.append(backend)
    return backend


def still_open(backend: BaseEmailBackend) -> bool:
    """Whether an SMTP backend's open connection still answers ``NOOP`` (nothing is sent
    on it otherwise); other backends (in memory, console) are always usable."""
    connection = getattr(backend, "connection", None)
    if not isinstance(connection, smtplib.SMTP):
        return not isinstance(backend, smtp.EmailBackend)  # an SMTP backend not open: no
    try:
        code, _ = connection.noop()
    except (smtplib.SMTPException, OSError):
        return False
    return code == 250


def _close_quietly(backend: BaseEmailBackend) -> None:
    try:
        backend.close()
    except (smtplib.SMTPException, OSError) as error:
        logger.info("closing the mail connection failed (%s)", type(error).__name__)
