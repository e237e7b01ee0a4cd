"""Signed JSON Web Tokens (RS256) for id and access tokens, and the key set that verifies them."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from graph_sandbox.ids import b64url


def key_id(key: rsa.RSAPrivateKey) -> str:
    """A stable ``kid`` for the key: a hash of its public modulus."""
    modulus = key.public_key().public_numbers().n.to_bytes(256, "big")
    return b64url(hashlib.sha256(modulus).digest()[:20])


def encode(claims: dict, key: rsa.RSAPrivateKey) -> str:
    """``header.payload.signature`` signed with RS256."""
    header = {"typ": "JWT", "alg": "RS256", "kid": key_id(key)}
    signing_input = f"{_part(header)}.{_part(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


@lru_cache(maxsize=4)
def jwks(key: rsa.RSAPrivateKey) -> dict:
    """The JSON Web Key Set publishing the public half of ``key``."""
    numbers = key.public_key().public_numbers()
    return {
        "keys": [
            {
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": key_id(key),
                "n": b64url(numbers.n.to_bytes(256, "big")),
                "e": b64url(numbers.e.to_bytes(3, "big")),
            }
        ]
    }


def _part(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())
