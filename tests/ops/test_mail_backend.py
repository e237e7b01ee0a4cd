"""Production's SMTP backend checks the mail server's certificate as Django's does, with one
TLS context per process instead of one per email."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.mail import get_connection

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
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "worker.example.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "client.pem", tmp_path / "client.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
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
