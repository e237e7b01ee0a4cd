"""``manage.py run_graph_sandbox``: serve the identity and Graph endpoints over TLS.

``make run`` starts this as its ``sandbox`` child. It creates the certificate
files on first use (``GRAPH_SANDBOX_TLS_DIR``); the browser pages are served by
the web server under ``/graph-sandbox/``. Its delivery thread POSTs change and
lifecycle notifications to the apps' URLs.
"""

from __future__ import annotations

import errno

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from graph_sandbox.pagesurl import PAGES_PREFIX, pages_base_url
from graph_sandbox.server import ApiHandler, SandboxServer
from graph_sandbox.subscriptions.delivery import DeliveryThread
from graph_sandbox.tls import ensure_tls_files


class Command(BaseCommand):
    help = "Serve the Graph sandbox's identity and Graph endpoints over https."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.GRAPH_SANDBOX_PORT)
        parser.add_argument("--host", default=settings.GRAPH_SANDBOX_HOST)

    def handle(self, *args, port: int, host: str, **options):
        files = ensure_tls_files(settings.GRAPH_SANDBOX_TLS_DIR)
        try:
            server = SandboxServer((host, port), ApiHandler(), tls=files)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise CommandError(
                f"Port {port} is already in use: set GRAPH_SANDBOX_PORT to another one."
            ) from None
        base = f"https://localhost:{server.port}"
        self.stdout.write(
            f"Graph sandbox on {base}: authority {base}/common, Graph {base}/v1.0, "
            f"CA certificate {files.ca_cert}"
        )
        self.stdout.write(f"Mailboxes and events: {pages_base_url()}{PAGES_PREFIX}/")
        delivery = DeliveryThread().start()
        try:
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            delivery.stop()
            server.server_close()
