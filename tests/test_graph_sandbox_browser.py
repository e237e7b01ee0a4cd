"""A person in Chromium: signing in on the sandbox's pages, and checking a calendar there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from graph_sandbox import control, demo
from tests.support.browser import off_loop

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def browser_page(chromium, screenshots):
    # Database work in these tests runs through off_loop: Playwright's event loop
    # runs in the test's thread.
    page = chromium.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.shots = screenshots
    return page


def shot(page, name: str) -> None:
    page.shots.take(page, name)


def test_a_person_signs_in_and_consents_and_the_app_receives_the_code(
    graph_sandbox_server, live_server, browser_page
):
    sandbox = graph_sandbox_server
    off_loop(lambda: sandbox.set_pages_url(live_server.url))
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        ["User.Read", "Calendars.ReadWrite"],
        redirect_uri=sandbox.callback_url(live_server.url),
        response_mode="form_post",
    )
    assert flow["auth_uri"].startswith(live_server.url + "/graph-sandbox/")
    page = browser_page
    received: list[dict] = []

    def capture(route):
        received.append({k: v[0] for k, v in parse_qs(route.request.post_data).items()})
        route.fulfill(status=200, body="callback reached")

    page.route(sandbox.callback_url(live_server.url), capture)
    page.goto(flow["auth_uri"])
    shot(page, "1-sign-in")
    page.get_by_label("Account").select_option(demo.MEGAN.address)
    page.get_by_label("Password").fill(sandbox.password)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Permissions requested").wait_for()
    shot(page, "2-consent")
    assert page.get_by_text("Have full access to your calendars").is_visible()
    page.get_by_role("button", name="Accept").click()
    page.get_by_text("callback reached").wait_for()
    shot(page, "3-back-at-the-app")

    (fields,) = received
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert result["id_token_claims"]["preferred_username"] == demo.MEGAN.address


def test_a_person_adds_busy_time_on_the_people_page_and_sees_it(
    graph_sandbox_server, live_server, browser_page
):
    page = browser_page
    page.goto(live_server.url + "/graph-sandbox/")
    shot(page, "1-mailboxes")
    page.get_by_role("link", name="Adele Vance").click()
    page.get_by_role("heading", name="Adele Vance").wait_for()
    day = (off_loop(control.clock_now) + timedelta(days=3)).date()
    page.get_by_label("Subject").fill("Physio")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Starts").fill("15:00")
    page.get_by_label("Ends").fill("16:00")
    page.get_by_label("Show as").select_option("oof")
    page.get_by_role("button", name="Add event").click()
    page.get_by_text("The event was added.").wait_for()
    shot(page, "2-added")
    assert page.get_by_text("Physio").is_visible()
    events = off_loop(lambda: control.events(demo.ADELE.address))
    (event,) = [e for e in events if e.subject == "Physio"]
    assert event.show_as == "oof"
    assert event.end - event.start == timedelta(hours=1)
    assert event.start > datetime.now(UTC)


def _subscribe_demo_app(url: str, lifecycle_url: str) -> None:
    """What the product does over HTTPS, done directly (the validation handshake included)."""
    from graph_sandbox.graph.auth import Caller
    from graph_sandbox.models import AppRegistration
    from graph_sandbox.subscriptions.services import subscription_create

    caller = Caller(
        mailbox=control.mailbox(demo.ADELE.address),
        app=AppRegistration.objects.get(client_id=demo.DEMO_CLIENT_ID),
        scopes=("Calendars.ReadWrite",),
    )
    expires = (control.clock_now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    subscription_create(
        caller=caller,
        body={
            "changeType": "created,updated,deleted",
            "resource": "me/events",
            "expirationDateTime": expires,
            "notificationUrl": url,
            "lifecycleNotificationUrl": lifecycle_url,
            "clientState": "kept-secret",
        },
    )


def test_a_person_watches_notifications_go_out_and_removes_a_subscription(
    graph_sandbox_server, live_server, browser_page, notification_receiver
):
    receiver = notification_receiver
    off_loop(lambda: _subscribe_demo_app(receiver.notification_url, receiver.lifecycle_url))
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.goto(live_server.url + f"/graph-sandbox/mailboxes/{demo.ADELE.address}/")
    box = page.get_by_role("region", name="Change notifications")
    assert box.get_by_text("ScheduleOnce watches every calendar").is_visible()
    day = (off_loop(control.clock_now) + timedelta(days=3)).date()
    page.get_by_label("Subject").fill("Physio")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Starts").fill("15:00")
    page.get_by_label("Ends").fill("16:00")
    page.get_by_role("button", name="Add event").click()
    page.get_by_text("The event was added.").wait_for()
    (item,) = receiver.wait_for_items(1)
    assert item["changeType"] == "created"
    page.reload()
    box.get_by_text("Change: 1 created").wait_for()
    shot(page, "1-notifications")
    assert "kept-secret" not in page.content()
    box.get_by_role(
        "button", name="Remove for ScheduleOnce's subscription to every calendar"
    ).click()
    page.get_by_text("subscriptionRemoved is on its way").wait_for()
    shot(page, "2-removed")
    assert receiver.wait_for_items(1, path="/lifecycle")[0]["lifecycleEvent"] == (
        "subscriptionRemoved"
    )
