"""A mail server for benchmarks: takes every message over SMTP with STARTTLS, keeps none.

``bench.worker_cost --smtp`` sends the booking emails through it, so that the worker pays
what it pays against a real server (a connection, EHLO, the TLS handshake, the message's
bytes) instead of handing them to Django's in-memory backend. It serves the Graph
sandbox's certificate for ``localhost``, in threads of the calling process.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
from pathlib import Path


class _Session(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        connection = self.request
        reader = connection.makefile("rb")
        secure = False

        def answer(text: str) -> None:
            connection.sendall(text.encode("ascii") + b"\r\n")

        self.server.count("sessions")
        self.server.opened(connection)
        answer("220 localhost ESMTP bench sink")
        while raw := reader.readline():  # (the reader changes with STARTTLS)
            command = raw.decode("ascii", "replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                offers = "" if secure else "\r\n250-STARTTLS"
                answer(f"250-localhost{offers}\r\n250 8BITMIME")
            elif command == "STARTTLS" and not secure:
                answer("220 ready to start TLS")
                connection = self.server.tls.wrap_socket(connection, server_side=True)
                reader, secure = connection.makefile("rb"), True
            elif command == "DATA":
                answer("354 end with <CRLF>.<CRLF>")
                for line in iter(reader.readline, b""):
                    if line == b".\r\n":
                        break
                self.server.count("messages")
                answer("250 taken")
            elif command == "QUIT":
                answer("221 bye")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                answer("250 ok")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, certificate: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(certificate, key)
        self.port = self.server_address[1]
        self.sessions = self.messages = 0  # connections opened, messages taken
        self._lock = threading.Lock()
        self._sockets: list = []
        threading.Thread(target=self.serve_forever, name="smtp-sink", daemon=True).start()

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    def opened(self, connection) -> None:
        with self._lock:
            self._sockets.append(connection)

    def drop_sessions(self) -> None:
        """Close every session from the server's side, as a restart or an idle timeout
        does (tests: a client's kept connection is then dead)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for connection in sockets:
            with contextlib.suppress(OSError):  # already closed
                connection.shutdown(socket.SHUT_RDWR)
