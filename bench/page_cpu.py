"""What one booking page GET costs inside the web process: CPU ms and queries.

    .venv/bin/python -m bench.page_cpu [--requests 400] [--profile]

Load-independent beside ``bench.http``: the CPU time (``time.process_time``) and the
SQL queries of ``GET /book/<slug>/`` through Django's WSGI handler and every
middleware, with production settings (``DEBUG=0``, WhiteNoise's manifest static
storage, the cached template loader), no cookies, as ``wrk`` asks it. ``/healthz``
is measured the same way as the floor.

With ``DATABASE_URL`` a PostgreSQL URL the bench makes and drops its own database
``<name>_pagecpu``; otherwise it uses SQLite in a temporary directory. ``CACHE_URL``
(Redis) is used as is when set (its database is not emptied: keys are per page).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]


def _environment(var_dir: str) -> str | None:
    """Production settings in this process; the PostgreSQL URL made for it, if any."""
    from cryptography.fernet import Fernet

    database = os.environ.get("DATABASE_URL", "")
    made = None
    if database.startswith(("postgres://", "postgresql://")):
        url = urlsplit(database)
        made = url._replace(path=f"{url.path}_pagecpu").geturl()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "scheduleonce.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "s3cr3t-" * 8,
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": "http://127.0.0.1:8000",
            "DATABASE_URL": made or f"sqlite:///{var_dir}/db.sqlite3",
            "CELERY_BROKER_URL": "memory://",
            "GRAPH_SANDBOX": "0",
            "MS_CLIENT_ID": "bench",
            "MS_CLIENT_SECRET": "bench",
            "EMAIL_URL": "dummymail://",
            "VAR_DIR": var_dir,
            "STATIC_ROOT": str(Path(var_dir) / "static"),
            "LOG_LEVEL": "WARNING",
        }
    )
    return made


def _seed() -> str:
    from accounts.models import User
    from bench.http import slots_page_create

    host = User.objects.create_user(
        email="bench-host@example.com", password="bench-password", name="Bench Host"
    )
    slots_page_create(host)
    return "/book/bench/"


def _environ(path: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_X_FORWARDED_PROTO": "https",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _get(handler, path: str) -> tuple[int, bytes]:
    status = []
    body = b"".join(handler(_environ(path), lambda s, headers, *_: status.append(s)))
    return int(status[0].split()[0]), body


def measure(handler, path: str, count: int) -> tuple[float, float]:
    """(CPU ms per request, queries per request) over ``count`` GETs after a warm-up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):
        status, _ = _get(handler, path)
        assert status == 200, (path, status)
    with CaptureQueriesContext(connection) as queries:
        started = time.process_time()
        for _ in range(count):
            _get(handler, path)
        spent = time.process_time() - started
    return spent * 1000 / count, len(queries) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="page-cpu-")
    made = _environment(var_dir)
    sys.path.insert(0, str(ROOT))
    from bench.http import database_create, database_drop

    if made:
        database_create(made)
    try:
        import django

        django.setup()
        from django.core.handlers.wsgi import WSGIHandler
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        path = _seed()
        handler = WSGIHandler()
        for name, where in (("/healthz", "/healthz"), ("booking page HTML", path)):
            ms, queries = measure(handler, where, args.requests)
            print(f"{name}: {ms:.2f} CPU ms per request, {queries:.1f} queries")
        if args.profile:
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for _ in range(args.requests):
                _get(handler, path)
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(70)
            print(out.getvalue())
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if made:
            database_drop(made)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
