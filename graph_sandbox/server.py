"""A small threaded HTTP(S) server for the sandbox, built on Django's development server.

``SandboxServer`` serves one of two Django handlers:

- ``ApiHandler``: the identity and Graph endpoints (``graph_sandbox.urls_api``)
  over TLS, behind ``graph_sandbox.pipeline`` (faults, concurrency, log). It can
  close a connection without answering, for fault injection.
- ``PagesHandler``: only the browser pages under ``/graph-sandbox/``, over plain
  http; tests use it when the product's web server is not running.

Connections are kept alive (HTTP/1.1), one thread each; the TLS handshake
happens in that thread, so a slow client never blocks the others. That thread
also keeps one connection to the sandbox's store for all the requests it
serves, and closes it when the client goes.
"""

from __future__ import annotations

import functools
import logging
import socket
import ssl
import threading
from pathlib import Path

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.sqlite3 import base as sqlite3_base
from django.http import HttpRequest, HttpResponse

from graph_sandbox import pipeline
from graph_sandbox.router import DB
from graph_sandbox.tls import TlsFiles

logger = logging.getLogger(__name__)
IDLE_TIMEOUT = 120  # seconds a kept-alive connection may sit idle
HANDSHAKE_TIMEOUT = 15


class ApiHandler(WSGIHandler):
    """Django with the sandbox's TLS urlconf, behind the fault/concurrency/log pipeline.

    None of the product's middleware runs here (sessions, CSRF, language, CSP, security
    headers, its error answers): they belong to the product's pages, and Microsoft's
    endpoints answer with their own headers and error bodies, which the views and the
    pipeline write themselves. Unhandled exceptions still become Django's 404/500.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def get_response(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = "graph_sandbox.urls_api"
        response = pipeline.handle(request, super().get_response)
        # Graph answers with a length and keeps the connection open. Without one (no
        # middleware here sets it), the server must close each connection after its
        # answer, and every call would pay for a new TCP connection and TLS handshake.
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response


class PagesHandler(WSGIHandler):
    """Django serving only the sandbox's browser pages, at ``/graph-sandbox/``."""

    def get_response(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = "graph_sandbox.urls_pages_root"
        return super().get_response(request)


class _RequestHandler(WSGIRequestHandler):
    timeout = IDLE_TIMEOUT
    # An answer's status line, headers and body leave in one TLS write (flushed once per
    # answer below) instead of one each: wsgiref writes them apart.
    wbufsize = 64 * 1024

    def get_environ(self) -> dict:
        environ = super().get_environ()
        if isinstance(self.connection, ssl.SSLSocket):
            environ["HTTPS"] = "on"
        environ[pipeline.ON_DROP] = self._mark_dropped
        return environ

    def _mark_dropped(self) -> None:
        self._dropped = True

    def handle(self) -> None:
        _store_connection_kept()
        super().handle()  # the server closes this thread's connections with the socket

    def handle_one_request(self) -> None:
        self._dropped = False
        try:
            super().handle_one_request()
            if not self._dropped:
                self.wfile.flush()
        except (TimeoutError, ConnectionError, ssl.SSLError):
            self.close_connection = True
            return
        if self._dropped:
            self.close_connection = True
            _abort(self.connection)

    def handle_expect_100(self) -> bool:
        answered = super().handle_expect_100()
        self.wfile.flush()  # "100 Continue" goes now: the client waits for it
        return answered

    def log_message(self, format: str, *args) -> None:
        if self.server.quiet:
            return
        super().log_message(format, *args)


class SandboxServer(ThreadedWSGIServer):
    """Threaded WSGI server; TLS when given certificate files."""

    def __init__(
        self,
        address: tuple[str, int],
        app: WSGIHandler,
        *,
        tls: TlsFiles | None = None,
        quiet: bool = False,
    ):
        self.quiet = quiet
        self.ssl_context = _server_context(tls) if tls else None
        super().__init__(address, _RequestHandler, allow_reuse_address=True)
        self.set_app(app)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def finish_request(self, request: socket.socket, client_address) -> None:
        # Headers and body go out in separate writes; without this, Nagle's algorithm
        # and the client's delayed ACK add ~40 ms to every answer.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. a client that does not trust our certificate
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()


def start_in_thread(server: SandboxServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    return thread


def _server_context(tls: TlsFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(Path(tls.server_cert), Path(tls.server_key))
    return context


def _store_connection_kept() -> None:
    """Give this thread a store connection that lasts until ``close()``.

    Django closes a connection whose ``CONN_MAX_AGE`` is 0 (the sandbox's SQLite store)
    after every request; opening it again costs each call more than its queries (the
    file, SQL functions, pragmas). A kept-alive client's requests are served one after
    another by one thread, which may keep its connection in between: it is closed when
    the client goes (Django's ``ThreadedWSGIServer.close_request``), or earlier if an
    error leaves it unusable.
    """
    wrapper = connections[DB]
    kept = _unlogged(type(wrapper))
    connections[DB] = kept({**wrapper.settings_dict, "CONN_MAX_AGE": None}, DB)


@functools.cache
def _unlogged(wrapper_class: type[BaseDatabaseWrapper]) -> type[BaseDatabaseWrapper]:
    """``wrapper_class`` whose queries Django keeps in ``connection.queries`` only when
    asked (``force_debug_cursor``, as ``CaptureQueriesContext`` does), not whenever
    ``DEBUG`` is on.

    The sandbox runs with ``DEBUG`` (local runs, the benches), and Django's debug cursor
    then times and formats every statement of every call; on SQLite it quotes the
    parameters with one more query each: about a third of the store's work on an event
    create. The statements are the sandbox's own (Microsoft's side), never the product's.
    """

    class UnloggedStore(wrapper_class):
        @property
        def queries_logged(self) -> bool:
            return self.force_debug_cursor

        def create_cursor(self, name=None):
            if self.vendor != "sqlite":
                return super().create_cursor(name)
            return self.connection.cursor(factory=_StoreCursor)

    return UnloggedStore


class _StoreCursor(sqlite3_base.SQLiteCursorWrapper):
    """Django's SQLite cursor, whose conversion of each statement's ``%s`` placeholders to
    ``?`` (a regular expression over the SQL) is kept per statement text: the store's
    statements are compiled once (``ops.compiled_queries``) and come back with every call,
    a regular expression run for about three in four of its statements."""

    def convert_query(self, query, *, param_names=None):
        if param_names is not None:
            return super().convert_query(query, param_names=param_names)
        return _qmark_query(query)


@functools.lru_cache(maxsize=1024)
def _qmark_query(query: str) -> str:
    return sqlite3_base.SQLiteCursorWrapper.convert_query(None, query)


def _abort(connection: socket.socket) -> None:
    """Close without an answer, the way a server or proxy that gave up does."""
    try:
        if isinstance(connection, ssl.SSLSocket):
            connection.settimeout(1)
            connection.unwrap()  # close_notify, so the client reads a clean end of stream
        connection.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass
