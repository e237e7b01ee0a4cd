"""The product's email messages and SMTP backend: Django's, made cheaper for the worker.

``Email``: non-ASCII headers in base64 encoded words.

Django encodes a header that is not ASCII (a German subject, a time zone's em dash) with
``email.header.Header`` in the message's charset. For UTF-8 the standard library picks
the shorter of quoted-printable ("Q") and base64 ("B") encoded words, and splits Q words
by measuring every prefix of each line again, byte by byte
(``email.charset.Charset.header_encode_lines``): about 2,000 Python calls for a booking
confirmation's subject, over half of Django's ``message()`` for it. B words are measured
from their length alone (``message()`` 0.33 -> 0.19 ms; 0.14 with an ASCII subject).
Both are RFC 2047 encoded words that every mail client decodes to the same text; a B
subject is longer on the wire (a third over its UTF-8 bytes), which no reader sees.

``SMTPBackend`` (``EMAIL_URL`` smtp://, smtp+tls://): one TLS context per process.
Django makes a backend for every message sent, and each made its own
``ssl.create_default_context()``, which parses the system's CA certificates: about 24 ms
of CPU here for every email, three per booking, before the TLS handshake (about 0.8 ms).
"""

from __future__ import annotations

import functools
import ssl
from email import charset

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.utils.functional import cached_property

# UTF-8 as Django uses it, but headers always as base64 encoded words (bodies are
# not encoded with it: Django picks 8bit or quoted-printable for them as before).
HEADER_CHARSET = charset.Charset("utf-8")
HEADER_CHARSET.header_encoding = charset.BASE64


class Email(EmailMultiAlternatives):
    """``EmailMultiAlternatives`` whose non-ASCII headers (Subject, a non-ASCII display
    name in an address) are B-encoded. Everything else is Django's: the body's and the
    attachments' encoding, the header checks (no line breaks), the sending."""

    def _create_message(self, msg):
        # Django sets Subject, From, To, Reply-To and the extra headers on the part this
        # returns, each encoded in that part's ``encoding`` (SafeMIMEText/Multipart).
        message = super()._create_message(msg)
        if (self.encoding or settings.DEFAULT_CHARSET).lower() in ("utf-8", "utf8"):
            message.encoding = HEADER_CHARSET
        return message


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
