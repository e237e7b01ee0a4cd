"""Every setting Celery reads to send a message is named in our settings.

Celery looks a setting up under four spellings in each of three sources, through
Django's settings; one that is not named there costs about 13 µs a read, and each
booking's message reads several (the first message of a process reads many more, once).
"""

from __future__ import annotations

import collections

import pytest
from celery.utils import collections as celery_collections
from django.conf import settings

from outbox import dispatch
from scheduleonce.celery import app


def _send_but_not_publish(producer) -> None:
    with pytest.raises(RuntimeError, match="not sent"):
        app.send_task(dispatch.BUNDLE_TASK, args=[[["booking.tasks.x", [1]]]], producer=producer)


def test_the_settings_read_for_each_message_are_named_in_ours(monkeypatch):
    def no_broker(*args, **kwargs):
        raise RuntimeError("not sent: this test only reads settings")

    read = collections.Counter()
    lookup = celery_collections.ConfigurationView.__getitem__

    def counted(self, key):
        read[key] += 1
        return lookup(self, key)

    with app.producer_or_acquire() as producer:
        monkeypatch.setattr(type(producer), "publish", no_broker)
        _send_but_not_publish(producer)  # what the first message reads once
        monkeypatch.setattr(celery_collections.ConfigurationView, "__getitem__", counted)
        _send_but_not_publish(producer)
    assert read, "no setting read: the spy missed Celery's lookups"
    assert [key for key in read if not hasattr(settings, f"CELERY_{key.upper()}")] == []


def test_every_worker_we_start_runs_without_worker_to_worker_chatter():
    """docker-compose.yml, `manage.py run`, the benches and the tests start the worker
    the same way (README, "Running workers in production")."""
    from pathlib import Path

    import yaml

    from ops.management.commands.run import Command
    from scheduleonce.celery import WORKER_QUIET
    from tests.support.worker import CeleryWorker

    root = Path(__file__).resolve().parents[1]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    started = {
        "docker-compose.yml": compose["services"]["worker"]["command"],
        "manage.py run": next(
            child.argv
            for child in Command().children(host="127.0.0.1", port=8000)
            if child.name == "worker"
        ),
        "tests": CeleryWorker(extra_env={}).argv(),
    }
    assert set(WORKER_QUIET) == {"--without-gossip", "--without-mingle", "--without-heartbeat"}
    for where, argv in started.items():
        assert "worker" in argv, where
        assert set(WORKER_QUIET) <= set(argv), where
    assert "*WORKER_QUIET" in (root / "bench" / "http.py").read_text()
    assert "*WORKER_QUIET" in (root / "bench" / "worker_cost.py").read_text()
