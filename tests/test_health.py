"""/healthz tells a load balancer whether the database answers."""

from __future__ import annotations

import json

import pytest

from tests.support.subproc import ROOT, clean_env

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_a_head_request_too(client):
    # Many uptime monitors and load balancers probe with HEAD.
    response = client.head("/healthz")
    assert response.status_code == 200
    assert response.content == b""


def test_healthz_is_503_when_the_database_does_not_answer():
    import subprocess
    import sys

    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = clean_env(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="scheduleonce.settings",
        # Nothing listens on port 9 (discard) here: the connection is refused.
        DATABASE_URL="postgres://nobody@127.0.0.1:9/none?connect_timeout=2",
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"status": 503, "body": {"status": "unavailable", "database": "down"}}
