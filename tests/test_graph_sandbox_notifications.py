"""Change notifications as a person and ``make run`` meet them: the people page shows
the subscriptions and what was sent, busy time added there is notified, a person can
play Microsoft's lifecycle events, and the sandbox server notifies changes that
another process (the web server's pages) made."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from graph_sandbox import control, demo
from graph_sandbox.models import Notification, NotificationKind
from tests.contract import conftest as contract
from tests.contract.subscribing import CLIENT_STATE, subscribe
from tests.support.htmlforms import forms_of
from tests.support.net import free_port
from tests.support.subproc import ROOT, clean_env, manage
from tests.support.worker import wait_until

ADELE = demo.ADELE.address
PAGE = f"/graph-sandbox/mailboxes/{ADELE}/"

pytestmark = [pytest.mark.slow]


# Adele signed in to the demo app, as in the contract suite: graph(method, path, json=…).
sandbox, http, tokens_for, graph = (
    contract.sandbox,
    contract.http,
    contract.tokens_for,
    contract.graph,
)


@pytest.fixture
def browser():
    from django.test import Client

    return Client(enforce_csrf_checks=True)


def submit(browser, page, action_suffix: str, **values):
    """Post the form whose action ends with ``action_suffix``, CSRF token included."""
    (form,) = [f for f in forms_of(page.content.decode()) if f.action.endswith(action_suffix)]
    return browser.post(form.action, {**form.fields, **values})


def test_the_people_page_shows_subscriptions_and_what_was_sent(
    graph, browser, notification_receiver
):
    subscribe(graph, notification_receiver)
    page = browser.get(PAGE)
    html = page.content.decode()
    assert "Change notifications" in html
    assert "ScheduleOnce" in html  # the demo app
    assert "every calendar" in html
    assert notification_receiver.notification_url in html
    assert CLIENT_STATE not in html  # the app's secret stays hidden
    assert "Validation request" in html

    form = next(f for f in forms_of(html) if f.action.endswith("/events/"))
    added = browser.post(
        form.action,
        {
            **form.fields,
            "calendar": form.selects["calendar"][0],
            "subject": "Gym",
            "date": "2030-02-01",
            "start_time": "07:00",
            "end_time": "08:00",
            "show_as": "busy",
        },
    )
    assert added.status_code == 302
    (item,) = notification_receiver.wait_for_items(1)
    (gym,) = [e for e in control.events(ADELE) if e.subject == "Gym"]
    assert (item["changeType"], item["resourceData"]["id"]) == ("created", gym.id)
    wait_until(lambda: "delivered" in browser.get(PAGE).content.decode())
    assert "Change: 1 created" in browser.get(PAGE).content.decode()


def test_a_person_plays_microsofts_lifecycle_events(graph, browser, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    page = browser.get(PAGE)
    assert submit(browser, page, f"{subscription['id']}/missed/").status_code == 302
    assert submit(browser, page, f"{subscription['id']}/reauthorize/").status_code == 302
    asked = browser.get(PAGE).content.decode()
    assert "asked to reauthorize" in asked
    removed = submit(browser, page, f"{subscription['id']}/remove/")
    assert removed.status_code == 302
    wait_until(lambda: len(notification_receiver.lifecycle_events()) == 3, timeout=10)
    assert notification_receiver.lifecycle_events() == [
        "missed",
        "reauthorizationRequired",
        "subscriptionRemoved",
    ]
    after = browser.get(removed["Location"]).content.decode()
    assert "No app is subscribed to this mailbox" in after
    assert "subscriptionRemoved" in after  # still in the log of what was sent
    missing = browser.post(f"/graph-sandbox/mailboxes/{ADELE}/subscriptions/nope/missed/")
    assert missing.status_code in (403, 404)  # no CSRF token, or no such subscription


def test_revoking_grants_asks_the_apps_to_reauthorize(graph, browser, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    page = browser.get(PAGE)
    assert submit(browser, page, "/revoke/").status_code == 302
    (challenge,) = notification_receiver.wait_for_items(1, path="/lifecycle")
    assert challenge["lifecycleEvent"] == "reauthorizationRequired"
    assert challenge["subscriptionId"] == subscription["id"]
    # The app's tokens no longer work, so it cannot reauthorize: changes soon stop.
    assert graph("POST", f"/subscriptions/{subscription['id']}/reauthorize").status_code == 401
    control.clock_advance(timedelta(minutes=11))
    start = control.clock_now() + timedelta(days=1)
    control.event_add(ADELE, subject="Unheard", start=start, end=start + timedelta(hours=1))
    time.sleep(1.5)
    assert notification_receiver.items() == []


def test_notifications_queued_by_another_process_are_found_by_polling(graph, notification_receiver):
    """Another process cannot wake this one's delivery thread; its next poll finds the row."""
    subscription = subscribe(graph, notification_receiver)
    (stored,) = control.subscriptions(ADELE)
    now = control.clock_now()
    Notification.objects.create(
        subscription_id=stored.id,
        mailbox=ADELE,
        kind=NotificationKind.LIFECYCLE,
        url=stored.lifecycle_notification_url,
        item={"subscriptionId": subscription["id"], "lifecycleEvent": "missed"},
        enqueued_at=now,
        enqueued_real=now,
        next_attempt_at=now,
    )
    (item,) = notification_receiver.wait_for_items(1, path="/lifecycle", timeout=5)
    assert item["lifecycleEvent"] == "missed"


SUBSCRIBE = """
from graph_sandbox import control, demo
from graph_sandbox.graph.auth import Caller
from graph_sandbox.models import AppRegistration
from graph_sandbox.subscriptions.services import subscription_create
control.seed_demo()
caller = Caller(
    mailbox=control.mailbox(demo.ADELE.address),
    app=AppRegistration.objects.get(client_id=demo.DEMO_CLIENT_ID),
    scopes=("Calendars.ReadWrite",),
)
expires = (control.clock_now() + __import__("datetime").timedelta(days=2)).isoformat()
subscription_create(caller=caller, body={
    "changeType": "created", "resource": "me/events", "expirationDateTime": expires,
    "notificationUrl": "%(url)s", "clientState": "make-run",
})
"""
ADD_EVENT = """
from datetime import UTC, datetime
from graph_sandbox import control, demo
control.event_add(demo.ADELE.address, subject="From the pages", start=datetime(2030, 1, 1, 9,
    tzinfo=UTC), end=datetime(2030, 1, 1, 10, tzinfo=UTC))
"""


def test_the_sandbox_server_notifies_changes_made_by_the_web_server(
    tmp_path, notification_receiver
):
    """``make run``: the pages (web server) and the TLS server are two processes on one store."""
    env = clean_env(DEBUG="1", VAR_DIR=str(tmp_path), GRAPH_SANDBOX_PORT=str(free_port()))
    for step in (["migrate", "--database", "graph_sandbox"], ["migrate"]):
        done = manage(*step, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
    done = manage(
        "shell", "-c", SUBSCRIBE % {"url": notification_receiver.notification_url}, env=env
    )
    assert done.returncode == 0, done.stderr
    server = subprocess.Popen(
        [sys.executable, "manage.py", "run_graph_sandbox"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        done = manage("shell", "-c", ADD_EVENT, env=env)  # as the people page would
        assert done.returncode == 0, done.stderr
        (item,) = notification_receiver.wait_for_items(1, timeout=30)
        assert (item["changeType"], item["clientState"]) == ("created", "make-run")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)  # its delivery thread and senders finish first (~20 s at most)
        except subprocess.TimeoutExpired:
            # A suite started in the background by a shell without job control runs
            # with SIGINT ignored, and the server inherits that. What this test checks
            # (the two processes on one store) has passed by then.
            server.kill()
            server.wait(10)
