"""Fixtures for booking pages: a page of Alice's, her connected calendars, dates to book."""

from __future__ import annotations

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer

# The test server's listen backlog (Django's default: 10) would reset some of the 50
# simultaneous connections of the concurrency test before they reach the application;
# production servers (gunicorn: 2048) queue them. Raised before any live server starts.
ThreadedWSGIServer.request_queue_size = 128


@pytest.fixture
def page(host):
    """Alice's page: Mon-Fri 9:00-17:00 Europe/London, 30-minute meetings, 1 hour notice."""
    from booking.services.pages import page_create

    return page_create(host=host, fields={"title": "Intro call", "slug": "alice-intro"})


@pytest.fixture
def calendars(host):
    """Alice's connected Office 365 account with a default and a second calendar.

    Sends ``connection_established`` as the Office 365 connection does after importing.
    """
    from calendars.models import Calendar, CalendarConnection
    from calendars.signals import connection_established

    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    main = Calendar.objects.create(
        connection=connection, remote_id="AAA", name="Calendar", is_default=True
    )
    team = Calendar.objects.create(connection=connection, remote_id="BBB", name="Team")
    connection_established.send(sender=CalendarConnection, connection=connection, new_account=True)
    return main, team


@pytest.fixture
def email_tasks_in_process():
    """Run the Celery tasks a test queues inside the test process (Celery's eager mode).

    Unit tests then read booking emails from Django's test outbox; a test with a
    real worker process (test_emails_worker.py) shows them going out through the broker.
    """
    from scheduleonce.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
