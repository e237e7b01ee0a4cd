"""Secrets never reach the logs, even when code makes a mistake."""

from __future__ import annotations

import json
import logging
import re

import pytest
from celery import shared_task
from django.test import Client

from ops.logging import (
    RedactSecretsFilter,
    log_context,
    log_context_bound,
    redact,
    redact_access,
)

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


# --- both formats, as settings configure the console handler ----------------------------


def configured_handler(log_format: str):
    """The console handler of settings.LOGGING for ``log_format``, writing to a buffer."""
    import io

    from ops.logging import JsonFormatter, LogContextFilter, TextFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(LogContextFilter())
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler, stream


def logged(log_format: str, emit) -> str:
    handler, stream = configured_handler(log_format)
    logger = logging.getLogger(f"tests.formats.{log_format}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_format_lets_a_token_through(log_format):
    def emit(logger):
        try:
            raise ValueError(f"token refused: refresh_token={JWT}")
        except ValueError:
            logger.exception(
                'refresh failed for %s {"client_secret": "s3cr3t-value"}', f"Bearer {JWT}"
            )
        logger.warning("asked with access_token=abcdefghij&code=0.AAAbbbCCC123")

    text = logged(log_format, emit)

    for secret in [JWT, "s3cr3t-value", "abcdefghij", "0.AAAbbbCCC123"]:
        assert secret not in text
    assert "ValueError" in text
    if log_format == "json":
        first, second = (json.loads(line) for line in text.splitlines())
        assert first["message"].startswith("refresh failed for Bearer [redacted]")
        assert "ValueError: token refused: refresh_token=[redacted]" in first["exception"]
        assert second["level"] == "WARNING"


def test_a_json_line_carries_what_a_text_line_names_and_the_bound_context():
    message = "push_event row=12 booking:9f1c-77 connection=3 calendar=7 version=2: created"

    def emit(logger):
        with log_context_bound(
            request_id="req-1", task="calendars.tasks.push_event", task_id="t-9"
        ):
            logger.info(message)
        logger.info("booking_emails row=5 booking=44 kind=confirmed: sent")

    first, second = (json.loads(line) for line in logged("json", emit).splitlines())

    assert first["message"] == message
    assert (first["level"], first["logger"]) == ("INFO", "tests.formats.json")
    assert first["time"].endswith("+00:00")
    assert {k: first[k] for k in ("request_id", "task", "task_id")} == {
        "request_id": "req-1",
        "task": "calendars.tasks.push_event",
        "task_id": "t-9",
    }
    assert (first["row"], first["booking"], first["connection"], first["calendar"]) == (
        12,
        "9f1c-77",
        3,
        7,
    )
    assert "request_id" not in second  # nothing bound any more
    assert (second["row"], second["booking"]) == (5, 44)


def test_a_text_line_ends_with_the_bound_context():
    def emit(logger):
        with log_context_bound(request_id="req-1"):
            logger.info("sync_connection connection=3: synced")
        logger.info("plain")

    first, second = logged("text", emit).splitlines()
    assert first.endswith(
        "INFO tests.formats.text sync_connection connection=3: synced [request_id=req-1]"
    )
    assert second.endswith("INFO tests.formats.text plain")


# --- the request id -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_answer_carries_a_request_id_and_keeps_a_plain_one_from_the_proxy(client):
    made = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    assert client.get("/healthz")["X-Request-ID"] != made["X-Request-ID"]
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-1.2_3")["X-Request-ID"] == "lb-1.2_3"
    odd = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)


@pytest.mark.django_db(transaction=True)  # commits run their callbacks inside the request
def test_the_tasks_a_request_queues_carry_its_request_id(client, host):
    from celery import signals

    from booking.services.pages import page_create
    from outbox.dispatch import publisher_drain
    from tests.support.booking import at, book, workday

    page_create(host=host, fields={"title": "Intro call", "slug": "intro"}, questions=[])
    published: list[tuple[str, dict]] = []

    def record(sender=None, headers=None, **_kwargs):
        published.append((sender, dict(headers or {})))

    signals.before_task_publish.connect(record, weak=False, dispatch_uid="test-record")
    try:
        answer = book(
            client, "intro", start=at(workday("Europe/London"), 10), HTTP_X_REQUEST_ID="req-42"
        )
        assert publisher_drain(10)  # sent from the publisher thread, after commit
    finally:
        signals.before_task_publish.disconnect(dispatch_uid="test-record")

    assert answer.status_code == 201, answer.content
    assert answer["X-Request-ID"] == "req-42"
    assert published, "the booking queued its emails"
    assert {headers.get("request_id") for _, headers in published} == {"req-42"}


@shared_task(name="tests.test_logging.context_seen")
def context_seen() -> dict:
    return dict(log_context())


def test_a_task_runs_with_the_request_id_of_its_message_and_its_own_name():
    result = context_seen.apply(headers={"request_id": "req-7"}, task_id="tid-1")

    assert result.get() == {
        "request_id": "req-7",
        "task": "tests.test_logging.context_seen",
        "task_id": "tid-1",
    }
    assert log_context() == {}


# --- addresses that are keys: access lines of runserver and gunicorn ---------------------

RESET = "/accounts/reset/MQ/cf1a2b-0123456789abcdef0123456789abcdef/"
MANAGE = "/bookings/8eabc40aff614eaea8af2860ca4be178:sCDPBqTXad03e_pmv0MhvYDv93u44sFjNLnXp1JkyHE/"


def test_access_lines_lose_the_keys_in_reset_booking_and_invitation_addresses():
    line = (
        f'"GET {RESET} HTTP/1.1" 302 0 "GET {MANAGE}cancel/" /accounts/invitations/AbC.dEf:ghi/'
        " /setup/integration/calendar/office365/callback/?handoff=12-0123abcd"
    )
    cleaned = redact_access(line)
    for secret in ("cf1a2b-0123456789abcdef", "sCDPBqTXad03e", "AbC.dEf:ghi", "12-0123abcd"):
        assert secret not in cleaned
    assert "/bookings/8eabc40aff614eaea8af2860ca4be178:[redacted]/cancel/" in cleaned
    assert redact_access("/accounts/reset/MQ/set-password/") == "/accounts/reset/MQ/set-password/"
    # Elsewhere links stay whole: locally the worker prints the emails, links and all.
    assert redact(line) == line


def test_runservers_request_lines_are_scrubbed(client, capfd):
    # runserver logs each request on "django.server"; as configured, not through our
    # console handler, so it needs the filter of its own.
    logging.getLogger("django.server").info('"GET %s HTTP/1.1" 302 0', RESET)
    assert "cf1a2b-0123456789abcdef" not in capfd.readouterr().err


@pytest.mark.django_db
def test_djangos_request_warnings_lose_the_keys_in_addresses(client, capfd):
    # "Not Found: <path>" for a link whose page is gone, "Forbidden (CSRF cookie not set.):
    # <path>" for a form sent without its cookie: the address is the invitee's key.
    client.get(MANAGE + "reschedule/")
    Client(enforce_csrf_checks=True).post(MANAGE + "cancel/", {"reason": "x"})
    client.get("/accounts/invitations/AbCdEfGh.IjK:lmnopq/")
    err = capfd.readouterr().err
    assert "Not Found: /bookings/8eabc40aff614eaea8af2860ca4be178:[redacted]/reschedule/" in err
    assert "CSRF" in err
    for secret in ("sCDPBqTXad03e", "AbCdEfGh.IjK"):
        assert secret not in err


def test_error_reports_lose_the_keys_in_addresses():
    from ops.sentry import event_scrub

    event = {
        "request": {"url": "https://so.example" + MANAGE + "cancel/"},
        "breadcrumbs": {"values": [{"message": "Bad Request: " + RESET}]},
    }
    scrubbed = str(event_scrub(event))
    for secret in ("sCDPBqTXad03e", "cf1a2b-0123456789abcdef"):
        assert secret not in scrubbed
    assert "8eabc40aff614eaea8af2860ca4be178:[redacted]/cancel/" in scrubbed


def test_gunicorns_access_lines_are_scrubbed():
    from types import SimpleNamespace

    from gunicorn.config import Config

    from ops.gunicorn_logging import RedactingLogger

    request = SimpleNamespace(
        method="GET",
        path=RESET,
        query="handoff=1-abcdef12",
        uri=RESET,
        version=(1, 1),
        headers=[("REFERER", f"https://example.com{MANAGE}")],
    )
    response = SimpleNamespace(status="302 Found", sent=0, headers=[])
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": RESET,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "QUERY_STRING": "handoff=1-abcdef12",
        "PATH_INFO": RESET,
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": f"https://example.com{MANAGE}",
    }
    atoms = RedactingLogger(Config()).atoms(
        response, request, environ, SimpleNamespace(seconds=0, microseconds=1)
    )
    written = " ".join(str(value) for value in atoms.values())
    for secret in ("cf1a2b-0123456789abcdef", "sCDPBqTXad03e", "abcdef12"):
        assert secret not in written


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("host", "named"),
    [("evil.example", "evil.example"), ("x:code=Sup3rS3cretValue@evil", "(not a host name)")],
)
def test_a_host_the_site_does_not_serve_is_one_warning_line_without_a_traceback(
    client, host, named
):
    # Scanners send Host headers we do not serve all day: Django logs each at ERROR with a
    # traceback (an alert, a Sentry event). Ours is a WARNING naming only a plain host name.
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logging.getLogger("django.security").addHandler(keep)
    try:
        response = client.get("/book/intro/", HTTP_HOST=host)
    finally:
        logging.getLogger("django.security").removeHandler(keep)
    assert response.status_code == 400
    assert "This request could not be read" in response.content.decode()
    [record] = records
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert record.exc_text is None
    assert record.getMessage().endswith(": " + named)
    assert "Sup3rS3cret" not in record.getMessage()
