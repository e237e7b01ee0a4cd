"""A webhook receiver as a customer would write one: a real HTTP server on 127.0.0.1.

It verifies every request with the ``standardwebhooks`` library (the reference
implementation for receivers), de-duplicates on ``webhook-id`` as the specification
asks, and keeps the events it accepted in arrival order. Tests script its behaviour:

- ``script``: what to do with the next requests, one entry each: a status code
  (answered with that status), ``"slow"`` (sleep ``slow_seconds``, then 200: the
  sender times out), or ``(429, "3")`` (status with a ``Retry-After`` header);
  afterwards it answers 200;
- ``stop()`` / ``start()``: go down (connections refused) and come back on the same port.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.worker import wait_until


@dataclass(frozen=True)
class Attempt:
    message_id: str
    verified: bool
    headers: dict
    body: bytes
    at: float


@dataclass
class WebhookReceiver:
    secrets: list[str] = field(default_factory=list)
    script: list = field(default_factory=list)
    slow_seconds: float = 5.0
    attempts: list[Attempt] = field(default_factory=list)
    accepted: list[dict] = field(default_factory=list)  # events, first delivery of each id
    accepted_ids: list[str] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                receiver._handle(self)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _next(self):
        with self._lock:
            return self.script.pop(0) if self.script else 200

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        headers = {key.lower(): value for key, value in request.headers.items()}
        event = self._verify(body, headers)
        attempt = Attempt(
            message_id=headers.get("webhook-id", ""),
            verified=event is not None,
            headers=headers,
            body=body,
            at=time.time(),
        )
        action = self._next()
        with self._lock:
            self.attempts.append(attempt)
        if event is None:
            return self._answer(request, 400)
        if action == "slow":
            time.sleep(self.slow_seconds)
            action = 200
        status, retry_after = action if isinstance(action, tuple) else (action, None)
        if 200 <= status < 300:
            with self._lock:
                if attempt.message_id not in self.accepted_ids:  # de-duplicate
                    self.accepted_ids.append(attempt.message_id)
                    self.accepted.append(event)
        self._answer(request, status, retry_after)

    def _verify(self, body: bytes, headers: dict) -> dict | None:
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
        return None

    def _answer(self, request, status: int, retry_after: str | None = None) -> None:
        try:
            request.send_response(status)
            if retry_after is not None:
                request.send_header("Retry-After", retry_after)
            request.send_header("Content-Type", "text/plain")
            request.send_header("Content-Length", "2")
            request.end_headers()
            request.wfile.write(b"ok")
        except OSError:  # the sender gave up waiting (a timeout test)
            pass

    def events(self) -> list[dict]:
        with self._lock:
            return list(self.accepted)

    def wait_for(self, count: int, *, timeout: float = 30, message: str = "") -> list[dict]:
        wait_until(
            lambda: len(self.events()) >= count,
            timeout=timeout,
            message=message or f"expected {count} events, got {len(self.events())}",
        )
        return self.events()
