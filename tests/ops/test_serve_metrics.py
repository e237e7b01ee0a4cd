"""``manage.py serve_metrics``: a worker machine's counters, under the same token rule."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from tests.ops.test_metrics_store import ROOT, count_in_a_process
from tests.support.net import free_port
from tests.support.worker import wait_until

pytestmark = pytest.mark.slow


def test_a_worker_machine_serves_its_counters_to_the_token_only(tmp_path):
    count_in_a_process(tmp_path, bookings=3)
    [ended] = tmp_path.glob("counter_*.db")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve_metrics", "--port", str(port), "--bind", "127.0.0.1"],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "METRICS_TOKEN": "worker-machine-token",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:

        def answers() -> list:  # a Response is false when refused: wrap it
            try:
                return [requests.get(url, timeout=5)]
            except requests.ConnectionError:
                return []

        [refused] = wait_until(answers, timeout=90)
        allowed = requests.get(
            url, headers={"Authorization": "Bearer worker-machine-token"}, timeout=5
        )
    finally:
        server.terminate()
        server.wait(10)

    assert refused.status_code == 401
    assert allowed.status_code == 200
    assert "scheduleonce_bookings_total 3.0" in allowed.text
    assert "scheduleonce_pushes" not in allowed.text  # gauges come from any web server
    assert not ended.exists(), "the ended process's file was folded into the archive"
    assert (tmp_path / "counter_archive.db").exists()
