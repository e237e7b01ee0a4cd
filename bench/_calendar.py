"""Shared setup of the calendar benchmarks: a throw-away product with the Graph sandbox.

Everything lives in a temporary VAR_DIR: the product's SQLite database, the
sandbox's store, its TLS files, token keys and the filesystem broker. The
sandbox's TLS server runs in this process; a host is connected through the
product's real sign-in code (MSAL's auth code flow with PKCE), the sandbox
issuing the code as its sign-in page would.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Product:
    var_dir: str
    server: object  # graph_sandbox.server.SandboxServer
    env: dict[str, str]  # for worker processes
    database_url: str | None = None  # the PostgreSQL database, when not SQLite under var_dir

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_product(var_dir: str, **extra_env: str) -> Product:
    """Django on ``var_dir``, migrated, with the sandbox serving HTTPS and the product using it."""
    base_env = {
        "DJANGO_SETTINGS_MODULE": "scheduleonce.settings",
        "DEBUG": "1",
        "GRAPH_SANDBOX": "1",
        "VAR_DIR": var_dir,
        "CELERY_FILESYSTEM_DIR": str(Path(var_dir) / "broker"),
        "LOG_LEVEL": "WARNING",
        "BOOKING_RATE_LIMIT": "0",
        "EMAIL_URL": "dummymail://",
        **extra_env,
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "MS_CLIENT_ID"):
        if name not in extra_env:
            os.environ.pop(name, None)
    os.environ.update(base_env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from graph_sandbox import control
    from graph_sandbox.models import Event
    from graph_sandbox.server import ApiHandler, SandboxServer, start_in_thread
    from graph_sandbox.tls import ensure_tls_files

    for alias in settings.DATABASES:
        call_command("migrate", database=alias, verbosity=0)
    control.seed_demo()
    # The benches book weeks ahead, past the demo tenant's one-off events; its weekly
    # series would refuse some of those times, so the series go (the other events stay).
    for master in Event.objects.filter(recurrence__isnull=False, deleted=False).select_related(
        "calendar__owner"
    ):
        control.event_delete(master.calendar.owner.address, master.graph_id)
    files = ensure_tls_files(settings.GRAPH_SANDBOX_TLS_DIR)
    server = SandboxServer(("127.0.0.1", 0), ApiHandler(), tls=files, quiet=True)
    start_in_thread(server)
    base = f"https://localhost:{server.port}"
    settings.MS_AUTHORITY = f"{base}/common"
    settings.MS_GRAPH_URL = f"{base}/v1.0"
    settings.MS_CA_BUNDLE = str(files.ca_cert)
    worker_env = {
        **base_env,
        "GRAPH_SANDBOX": "0",
        "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}",
        "MS_AUTHORITY": settings.MS_AUTHORITY,
        "MS_GRAPH_URL": settings.MS_GRAPH_URL,
        "MS_CA_BUNDLE": settings.MS_CA_BUNDLE,
        "MS_CLIENT_ID": settings.MS_CLIENT_ID,
        "MS_CLIENT_SECRET": settings.MS_CLIENT_SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    return Product(
        var_dir=var_dir,
        server=server,
        env=worker_env,
        database_url=extra_env.get("DATABASE_URL"),
    )


def postgres_url(suffix: str) -> str | None:
    """``DATABASE_URL`` with ``_<suffix>`` added to the database's name when it is a
    PostgreSQL URL (a bench's own database beside the developer's); else ``None``."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path}_{suffix}").geturl()


@contextmanager
def throwaway_product(*, prefix: str, database_suffix: str, **extra_env: str) -> Iterator[Product]:
    """``start_product`` on a new temporary VAR_DIR (named ``prefix…``) and, when
    ``DATABASE_URL`` is PostgreSQL, on a database of its own (``postgres_url(database_suffix)``,
    made empty here). On the way out, also when the body raises: the sandbox stops, the
    connections close, that database is dropped and the directory removed."""
    url = postgres_url(database_suffix)
    if url:
        from bench.http import database_create

        database_create(url)
        extra_env = {**extra_env, "DATABASE_URL": url}
    var_dir = tempfile.mkdtemp(prefix=prefix)
    try:
        product = start_product(var_dir, **extra_env)
        try:
            yield product
        finally:
            product.stop()
    finally:
        from django.db import connections

        connections.close_all()
        if url:
            from bench.http import database_drop

            database_drop(url)
        shutil.rmtree(var_dir, ignore_errors=True)


def connect_host(*, email: str, address: str):
    """A host connected to the sandbox mailbox ``address``; returns (host, connection)."""
    from django.contrib.auth import get_user_model

    from calendars.services.connections import connection_complete, connection_start
    from graph_sandbox import control, demo
    from graph_sandbox.identity import tokens
    from graph_sandbox.models import AppRegistration

    host = get_user_model().objects.create_user(email, "bench-password-1", time_zone="UTC")
    redirect_uri = demo.DEMO_REDIRECT_URIS[0]
    sign_in = connection_start(host=host, provider_key="office365", redirect_uri=redirect_uri)
    query = {k: v[0] for k, v in parse_qs(urlsplit(sign_in.url).query).items()}
    code = tokens.code_issue(
        app=AppRegistration.objects.get(client_id=demo.DEMO_CLIENT_ID),
        mailbox=control.mailbox(address),
        redirect_uri=redirect_uri,
        scopes=query["scope"].split(),
        code_challenge=query["code_challenge"],
        code_challenge_method=query["code_challenge_method"],
        nonce=query["nonce"],
    )
    result = connection_complete(
        host=host,
        provider_key="office365",
        flow=sign_in.flow,
        response={"code": code, "state": sign_in.state},
    )
    return host, result.connection


def open_page(host, *, slug: str):
    """A page open around the clock, 15-minute slots, no notice, 60 days ahead."""
    from datetime import time

    from booking.services.pages import page_create

    return page_create(
        host=host,
        fields={
            "title": "Bench call",
            "slug": slug,
            "duration_minutes": 15,
            "increment_minutes": 15,
            "minimum_notice_minutes": 0,
            "time_zone": "Europe/London",
        },
        hours=[(weekday, time(0), time(0)) for weekday in range(7)],
    )
