"""What ops rely on: the compose file's services and the health-check command."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.utils import timezone

from ops.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_every_part_with_a_health_check():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ["db", "redis", "web", "worker", "beat"]:
        assert "healthcheck" in services[name], name
    assert "gunicorn" in services["web"]["command"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "scheduleonce", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "scheduleonce", "beat"]
    env = compose["x-app"]["environment"]
    assert env["DEBUG"] == "0"
    assert env["CELERY_BROKER_URL"].startswith("redis://")
    assert env["DATABASE_URL"].startswith("postgres://")
    assert "GRAPH_SANDBOX" not in env


@pytest.mark.django_db
def test_healthcheck_needs_a_recent_beat_heartbeat():
    with pytest.raises(CommandError, match="no 'beat' heartbeat"):
        call_command("healthcheck", heartbeat="beat")
    WorkerHeartbeat.objects.create(source="beat", seen_at=timezone.now() - timedelta(minutes=10))
    with pytest.raises(CommandError, match="heartbeat is 6"):
        call_command("healthcheck", heartbeat="beat", max_age=300)
    WorkerHeartbeat.objects.filter(source="beat").update(seen_at=timezone.now())
    call_command("healthcheck", heartbeat="beat", max_age=300)
