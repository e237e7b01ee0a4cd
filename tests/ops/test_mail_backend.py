"""Production's SMTP backend checks the mail server's certificate as Django's does, with one
TLS context per process instead of one per email."""

from __future__ import annotations

import ssl

from django.core.mail import get_connection

from graph_sandbox.tls import ensure_tls_files
from ops.mail import SMTPBackend, default_tls_context
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
