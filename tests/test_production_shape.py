"""What ops rely on: the compose file's services and the health-check command."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.utils import timezone

from ops.models import WorkerHeartbeat
from tests.support.net import free_port
from tests.support.subproc import clean_env
from tests.support.worker import wait_until
from tests.test_settings import PRODUCTION

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_every_part_with_a_health_check():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ["db", "redis", "web", "worker", "beat"]:
        assert "healthcheck" in services[name], name
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "scheduleonce", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "scheduleonce", "beat"]
    # Bookings go first when the web and the worker share the CPUs (Docker's default is 1024).
    assert services["worker"]["cpu_shares"] < services["web"].get("cpu_shares", 1024)
    env = compose["x-app"]["environment"]
    assert env["DEBUG"] == "0"
    assert env["CELERY_BROKER_URL"].startswith("redis://")
    assert env["DATABASE_URL"].startswith("postgres://")
    assert "GRAPH_SANDBOX" not in env
    # Without these production cannot work (or mails reset links to its log): compose
    # refuses to start with a message naming the one missing.
    for name in ["SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "SITE_URL"]:
        assert f"${{{name}:?set {name}}}" == env[name], name
    for name in ["EMAIL_URL", "MS_CLIENT_ID", "MS_CLIENT_SECRET"]:
        assert f"${{{name}:?set {name}}}" == env[name], name


@pytest.mark.django_db
def test_healthcheck_needs_a_recent_beat_heartbeat():
    with pytest.raises(CommandError, match="no 'beat' heartbeat"):
        call_command("healthcheck", heartbeat="beat")
    WorkerHeartbeat.objects.create(source="beat", seen_at=timezone.now() - timedelta(minutes=10))
    with pytest.raises(CommandError, match="heartbeat is 6"):
        call_command("healthcheck", heartbeat="beat", max_age=300)
    WorkerHeartbeat.objects.filter(source="beat").update(seen_at=timezone.now())
    call_command("healthcheck", heartbeat="beat", max_age=300)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_the_web_health_check_passes_against_production_settings(tmp_path):
    # It calls 127.0.0.1, a host name production's ALLOWED_HOSTS does not list.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    kind, *check = compose["services"]["web"]["healthcheck"]["test"]
    assert kind == "CMD"
    port = free_port()
    check = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in check]
    env = clean_env(
        **{
            **PRODUCTION,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CACHE_URL": "locmemcache://",
            "CELERY_BROKER_URL": "memory://",
        },
        VAR_DIR=str(tmp_path),
    )
    server = subprocess.Popen(
        ["gunicorn", "scheduleonce.wsgi:application", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _listening(port), timeout=30)
        assert check[0] == "python"
        done = subprocess.run(
            [sys.executable, *check[1:]], env=env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
    finally:
        server.terminate()
        server.wait(10)
