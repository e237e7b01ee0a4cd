"""Production's SMTP backend checks the mail server's certificate as Django's does, with one
TLS context per process instead of one per email; its messages' non-ASCII headers are the
standard library's base64 encoded words, split without re-measuring every prefix."""

from __future__ import annotations

import ssl
from email import charset
from email.header import Header

from django.core.mail import get_connection
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_sandbox.tls import ensure_tls_files
from ops.mail import HEADER_CHARSET, SMTPBackend, default_tls_context
from tests.support.subproc import clean_env, manage
from tests.test_settings import PRODUCTION


def test_every_email_uses_the_one_context_that_checks_the_server_like_djangos():
    first = get_connection("ops.mail.SMTPBackend", host="smtp.example.com", use_tls=True)
    second = get_connection("ops.mail.SMTPBackend", host="smtp.example.com", use_tls=True)
    assert first is not second  # Django makes a backend per message sent
    assert first.ssl_context is second.ssl_context is default_tls_context()
    djangos = ssl.create_default_context()
    shared = first.ssl_context
    assert shared.verify_mode == ssl.CERT_REQUIRED
    assert shared.check_hostname
    assert shared.minimum_version == djangos.minimum_version
    assert shared.options == djangos.options
    assert shared.cert_store_stats() == djangos.cert_store_stats()


def test_a_client_certificate_gets_a_context_of_its_own(tmp_path):
    files = ensure_tls_files(tmp_path)  # any certificate with its key will do
    certfile, keyfile = files.server_cert, files.server_key
    backend = SMTPBackend(use_tls=True, ssl_certfile=str(certfile), ssl_keyfile=str(keyfile))
    assert backend.ssl_context is not default_tls_context()
    assert backend.ssl_context is backend.ssl_context  # kept for that backend's connection


def test_production_sends_through_it():
    done = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.EMAIL_USE_TLS)",
        env=clean_env(**PRODUCTION),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "ops.mail.SMTPBackend True"


# Subjects as bookings make them: names, titles, dates in many languages, emoji, spaces.
_HEADER_TEXT = st.text(
    alphabet=st.sampled_from("abc XYZ,;:\t\u2013\u2014äöüßéñçø€😀漢字Иванاحمد"), max_size=300
)


@given(
    text=_HEADER_TEXT,
    width=st.sampled_from([1, 12, 20, 30, 76, 78]),
    name=st.sampled_from(["Subject", "To"]),
)
@settings(max_examples=300, deadline=None)
def test_headers_come_out_exactly_as_the_standard_librarys_base64_words(text, width, name):
    standard = charset.Charset("utf-8")
    standard.header_encoding = charset.BASE64
    ours = Header(text, HEADER_CHARSET, header_name=name, maxlinelen=width).encode()
    assert ours == Header(text, standard, header_name=name, maxlinelen=width).encode()


def test_a_header_is_split_without_measuring_every_prefix_of_it(monkeypatch):
    """The standard library measures each prefix's encoded length (one call per character,
    each encoding the prefix again); the split here counts the bytes once."""
    from email import base64mime

    measured: list[int] = []
    real = base64mime.header_length
    monkeypatch.setattr(base64mime, "header_length", lambda data: measured.append(1) or real(data))
    subject = (
        "Bestätigt: Größenberatung für Ärztinnen mit Jürgen Groß am 15. Januar 2027 \u2013 14:00"
    )
    assert Header(subject, HEADER_CHARSET, header_name="Subject").encode().startswith("=?utf-8?b?")
    assert measured == []
