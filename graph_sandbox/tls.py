"""The sandbox's certificates and token-signing key, generated into a folder once.

MSAL talks only to ``https`` authorities, so the sandbox serves TLS. It makes a
small private certificate authority (``ca.pem``, what the product trusts through
``MS_CA_BUNDLE``), a server certificate for ``localhost``/``127.0.0.1``/``::1``
signed by it, and an RSA key that signs id and access tokens (published at the
discovery document's ``jwks_uri``). Files are written atomically under a lock,
so processes starting together agree on one set.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

CA_DAYS = 3650
SERVER_DAYS = 825
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        """The file a client trusts (``MS_CA_BUNDLE``)."""
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        """Server certificate followed by the CA certificate (the chain to serve)."""
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def signing_key(self) -> Path:
        return self.directory / "token-signing-key.pem"


def ensure_tls_files(directory: Path) -> TlsFiles:
    """Create (or renew when close to expiry) the CA, server certificate and signing key.

    Idempotent and safe to call from several processes at once.
    """
    files = TlsFiles(Path(directory))
    files.directory.mkdir(parents=True, exist_ok=True)
    with open(files.directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _valid(files.ca_cert) or not files.ca_key.exists():
            _write_ca(files)
            files.server_cert.unlink(missing_ok=True)
        if not _valid(files.server_cert) or not files.server_key.exists():
            _write_server_cert(files)
        if not files.signing_key.exists():
            _write_private(files.signing_key, _new_key())
    return files


def load_signing_key(files: TlsFiles) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(files.signing_key.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{files.signing_key} does not hold an RSA key")
    return key


def _valid(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > datetime.now(UTC)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_ca(files: TlsFiles) -> None:
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ScheduleOnce Graph sandbox CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(files.ca_key, key)
    _write_atomic(files.ca_cert, cert.public_bytes(serialization.Encoding.PEM))


def _write_server_cert(files: TlsFiles) -> None:
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    key = _new_key()
    now = datetime.now(UTC)
    names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.server_key, key)
    chain = cert.public_bytes(serialization.Encoding.PEM) + files.ca_cert.read_bytes()
    _write_atomic(files.server_cert, chain)


def _write_private(path: Path, key: rsa.RSAPrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomic(path, pem, mode=0o600)


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


_signing_keys: dict[Path, rsa.RSAPrivateKey] = {}


def signing_key() -> rsa.RSAPrivateKey:
    """The key that signs the sandbox's tokens (loaded once per process and folder)."""
    directory = Path(settings.GRAPH_SANDBOX_TLS_DIR)
    if directory not in _signing_keys:
        _signing_keys[directory] = load_signing_key(ensure_tls_files(directory))
    return _signing_keys[directory]
