"""``manage.py serve_metrics [--port 9808] [--bind 0.0.0.0]``: this machine's counters.

For a machine that runs Celery workers but no web server: its processes' counters
(``PROMETHEUS_MULTIPROC_DIR``) are served here, in the Prometheus text format, under
the same rule as ``/metrics`` (``METRICS_TOKEN``). The gauges come from the database,
so any web server's ``/metrics`` has them; they are not repeated here.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.core.management.base import BaseCommand

from ops.metrics_scrape import METRICS_TOKEN_NEEDED, metrics_refusal, metrics_scrape


def counters_app(environ, start_response):
    refused = metrics_refusal(
        authorization=environ.get("HTTP_AUTHORIZATION", ""),
        remote_addr=environ.get("REMOTE_ADDR", ""),
    )
    if refused == 401:
        start_response(
            "401 Unauthorized",
            [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
        )
        return [METRICS_TOKEN_NEEDED.encode()]
    if refused is not None or environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found.\n"]
    body, content_type = metrics_scrape(gauges=False)
    start_response("200 OK", [("Content-Type", content_type)])
    return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # one line per scrape would drown the log
        pass


class Command(BaseCommand):
    help = "Serve this machine's counters (PROMETHEUS_MULTIPROC_DIR) for Prometheus."
    requires_system_checks: list[str] = []  # it reads files only; starts even without a DB

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=9808)
        parser.add_argument("--bind", default="0.0.0.0")  # noqa: S104 (a worker machine's port)

    def handle(self, *args, port: int, bind: str, **options) -> None:
        server = make_server(bind, port, counters_app, handler_class=_QuietHandler)
        self.stdout.write(f"Serving this machine's counters on http://{bind}:{port}/metrics")
        self.stdout.flush()
        server.serve_forever()
