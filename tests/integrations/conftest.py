"""Fixtures for integrations: Alice's page, a real webhook receiver, and her endpoint to it."""

from __future__ import annotations

import pytest

from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def page(host):
    """Alice's page: Mon-Fri 9:00-17:00 Europe/London, 30-minute meetings."""
    from booking.services.pages import page_create

    return page_create(host=host, fields={"title": "Intro call", "slug": "alice-intro"})


@pytest.fixture
def receiver():
    """A receiving HTTP server on 127.0.0.1 that verifies with ``standardwebhooks``."""
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(host, receiver):
    """Alice's endpoint to ``receiver``, subscribed to every event; the receiver knows
    its secret."""
    from integrations.models import EventType
    from integrations.webhooks import endpoint_create

    created, secret = endpoint_create(owner=host, url=receiver.url, events=list(EventType.values))
    receiver.secrets.append(secret)
    return created


@pytest.fixture
def tasks_in_process():
    """Run queued Celery tasks inside the test process (Celery's eager mode)."""
    from scheduleonce.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
