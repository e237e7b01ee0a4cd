"""A stand-in for an app's webhook endpoint: a tiny threaded HTTP server on 127.0.0.1.

It answers Graph's validation requests (``?validationToken=…``) and records every
notification POST. Tests choose how it behaves:

- ``validation``: ``"echo"`` (200, ``text/plain``, the decoded token: what Graph
  wants), ``"encoded"`` (echoes the token still URL-encoded), ``"html"`` (right
  token, ``text/html``), ``"refuse"`` (``500``), ``"slow"`` (answers after
  ``slow_seconds``);
- ``statuses``: status codes for the next notification POSTs, one each (then
  ``default_status``, 202); ``slow_seconds`` with ``"slow"`` in ``statuses`` delays one.

Use the ``notification_receiver`` fixture (``tests/support/graph_sandbox.py``).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.support.worker import wait_until


@dataclass(frozen=True)
class ReceivedPost:
    path: str  # e.g. "/notifications"
    value: list[dict]  # the notifications in the body
    content_type: str
    received_at: float  # time.time()


@dataclass
class Receiver:
    base_url: str
    validation: str = "echo"
    slow_seconds: float = 12.0
    default_status: int = 202
    statuses: list = field(default_factory=list)
    validations: list[tuple[str, str]] = field(default_factory=list)  # (path, decoded token)
    posts: list[ReceivedPost] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def notification_url(self) -> str:
        return f"{self.base_url}/notifications"

    @property
    def lifecycle_url(self) -> str:
        return f"{self.base_url}/lifecycle"

    def items(self, path: str = "/notifications") -> list[dict]:
        """Every notification received on ``path``, in arrival order."""
        with self._lock:
            return [item for post in self.posts if post.path == path for item in post.value]

    def posts_to(self, path: str = "/notifications") -> list[ReceivedPost]:
        with self._lock:
            return [post for post in self.posts if post.path == path]

    def wait_for_items(self, count: int, path: str = "/notifications", timeout: float = 10):
        """Wait until ``count`` notifications arrived on ``path``; returns all of them."""
        wait_until(lambda: len(self.items(path)) >= count, timeout=timeout)
        return self.items(path)

    def lifecycle_events(self) -> list[str]:
        return [item["lifecycleEvent"] for item in self.items("/lifecycle")]

    def _next_status(self):
        with self._lock:
            return self.statuses.pop(0) if self.statuses else self.default_status


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    receiver = Receiver(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    server.receiver = receiver
    serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    serve.daemon = True
    serve.start()
    return receiver, server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        tokens = parse_qs(parts.query).get("validationToken")
        if tokens is not None:
            self._validation(receiver, parts.path, tokens[0], parts.query)
            return
        receiver_status = receiver._next_status()
        with receiver._lock:
            receiver.posts.append(
                ReceivedPost(
                    path=parts.path,
                    value=json.loads(body)["value"],
                    content_type=self.headers.get("Content-Type", ""),
                    received_at=time.time(),
                )
            )
        if receiver_status == "slow":
            time.sleep(receiver.slow_seconds)
            receiver_status = 202
        self._answer(receiver_status, b"", "text/plain")

    def _validation(self, receiver: Receiver, path: str, token: str, raw_query: str) -> None:
        with receiver._lock:
            receiver.validations.append((path, token))
        mode = receiver.validation
        if mode == "refuse":
            self._answer(500, b"no", "text/plain")
        elif mode == "encoded":
            raw = raw_query.split("validationToken=", 1)[1].split("&", 1)[0]
            self._answer(200, raw.encode(), "text/plain")
        elif mode == "html":
            self._answer(200, token.encode(), "text/html")
        else:
            if mode == "slow":
                time.sleep(receiver.slow_seconds)
            self._answer(200, token.encode(), "text/plain; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sandbox gave up waiting

    def log_message(self, format: str, *args) -> None:
        pass
