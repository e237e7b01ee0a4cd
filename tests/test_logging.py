"""Secrets never reach the logs, even when code makes a mistake."""

from __future__ import annotations

import logging

from ops.logging import RedactSecretsFilter, redact

JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsIm5vbmNlIjoieCJ9.c2lnbmF0dXJl"


def test_redact_scrubs_tokens_in_the_usual_shapes():
    text = (
        f"Authorization: Bearer {JWT} body=grant_type=refresh_token&refresh_token=0.AAAbbbCCC123"
        ' {"client_secret": "s3cr3t-value", "access_token": "abcdefghij"}'
    )
    cleaned = redact(text)
    for secret in [JWT, "0.AAAbbbCCC123", "s3cr3t-value", "abcdefghij"]:
        assert secret not in cleaned
    assert "grant_type=refresh_token" in cleaned


def test_filter_scrubs_messages_and_tracebacks(caplog):
    logger = logging.getLogger("tests.redaction")
    logger.addFilter(RedactSecretsFilter())
    try:
        try:
            raise ValueError(f"token refused: refresh_token={JWT}")
        except ValueError:
            logger.exception("refresh failed for %s", f"Bearer {JWT}")
    finally:
        logger.filters.clear()
    assert JWT not in caplog.text
    assert "refresh failed for Bearer [redacted]" in caplog.text
    assert "ValueError" in caplog.text
