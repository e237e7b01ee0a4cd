"""Errors reach Sentry from the web and from workers, without personal data or tokens.

sentry-sdk sends to a real HTTP server on this machine (the DSN names it), so what is
checked is exactly what would leave for Sentry: the envelopes as sent.

Run by ``test_sentry.py`` in a pytest process of its own: sentry-sdk patches Django and
Celery for the rest of the process it is started in, which other tests must not inherit.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk
from celery import shared_task
from django.test import Client

from booking.services.pages import QuestionData, page_create
from ops.sentry import EMAIL_TEXT, FILTERED, scrub, sentry_init
from tests.support.booking import at, book, workday

INVITEE_EMAIL = "dana.secret@example.com"
ANSWER = "Project Nightingale budget"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsIm5vbmNlIjoieCJ9.c2lnbmF0dXJl"


class SentryInbox(BaseHTTPRequestHandler):
    """Takes envelopes as Sentry's ingestion endpoint does: POST /api/<project>/envelope/."""

    received: list[str]

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.server.received.append((self.path, body.decode("utf-8", "replace")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_inbox():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SentryInbox)
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sentry_init(dsn=f"http://publickey@127.0.0.1:{server.server_port}/42", environment="test")
    yield server.received
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.init(dsn=None)  # nothing is reported after this test
    server.shutdown()


def events(received) -> list[dict]:
    """The error events among the envelopes received (one JSON object per envelope line)."""
    sentry_sdk.flush(timeout=5)
    found = []
    for path, envelope in received:
        assert path == "/api/42/envelope/"
        for line in envelope.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and "exception" in item:
                found.append(item)
    return found


@pytest.mark.django_db
def test_a_web_error_is_reported_without_the_invitee_or_tokens(sentry_inbox, host, monkeypatch):
    page = page_create(
        host=host,
        fields={"title": "Intro call", "slug": "intro"},
        questions=[QuestionData(label="Topic", kind="text", required=True)],
    )
    question = page.questions.get()

    def broken_create(*, page, start, invitee):
        access_token = TOKEN  # noqa: F841  (a local a careless SDK would send)
        raise RuntimeError(f"calendar refused {invitee.email} with Bearer {TOKEN}")

    monkeypatch.setattr("booking.api.booking_create", broken_create)
    client = Client(raise_request_exception=False)

    answer = book(
        client,
        "intro",
        start=at(workday("Europe/London"), 10),
        email=INVITEE_EMAIL,
        answers={str(question.pk): ANSWER},
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_COOKIE=f"sessionid={TOKEN}",
    )

    assert answer.status_code == 500
    [event] = events(sentry_inbox)
    [error] = event["exception"]["values"]
    assert error["type"] == "RuntimeError"
    assert error["value"] == f"calendar refused {EMAIL_TEXT} with Bearer [redacted]"
    assert event["transaction"] == "/api/booking-pages/{slug}/bookings"
    assert event["request"].get("data", "") == ""  # no body at all
    assert event["environment"] == "test"
    sent = json.dumps(event)
    for private in (INVITEE_EMAIL, ANSWER, TOKEN, "Dana Invitee"):
        assert private not in sent
    assert "user" not in event or "ip_address" not in event["user"]


@shared_task(name="tests.ops.test_sentry.failing_task")
def failing_task(email: str, answers: dict, token: str) -> None:
    raise ValueError(f"could not send to {email}")


def test_a_task_error_is_reported_without_its_personal_arguments(sentry_inbox):
    failing_task.apply(args=[INVITEE_EMAIL, {"Topic": ANSWER}, TOKEN])

    [event] = events(sentry_inbox)
    [error] = event["exception"]["values"]
    assert (error["type"], error["value"]) == ("ValueError", f"could not send to {EMAIL_TEXT}")
    sent = json.dumps(event)
    for private in (INVITEE_EMAIL, TOKEN):
        assert private not in sent


def test_scrub_filters_personal_keys_and_blanks_emails_and_tokens_anywhere():
    event = {
        "extra": {"answers": [{"question": "Topic", "answer": ANSWER}], "invitee_email": "x@y.z"},
        "contexts": {"trace": {"name": "book", "client_state": "abc"}},
        "breadcrumbs": {"values": [{"message": f"sent to {INVITEE_EMAIL}: access_token={TOKEN}"}]},
        "logger": "booking.api",
    }

    cleaned = scrub(event)

    assert cleaned["extra"] == {"answers": FILTERED, "invitee_email": FILTERED}
    assert cleaned["contexts"]["trace"] == {"name": "book", "client_state": FILTERED}
    assert cleaned["breadcrumbs"]["values"][0]["message"] == (
        f"sent to {EMAIL_TEXT}: access_token=[redacted]"
    )
    assert cleaned["logger"] == "booking.api"


def test_default_personal_data_is_off(sentry_inbox):
    from sentry_sdk.scope import should_send_default_pii

    options = sentry_sdk.get_client().options
    assert not should_send_default_pii()
    assert (options["max_request_body_size"], options["include_local_variables"]) == (
        "never",
        False,
    )
