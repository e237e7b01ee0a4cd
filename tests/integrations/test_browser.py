"""In a real browser: a host adds a webhook endpoint, sends a test event and sees it
delivered; then makes an API token, which the API accepts until it is revoked."""

from __future__ import annotations

import pytest
import requests

from integrations.models import WebhookDelivery
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_host_adds_an_endpoint_sends_a_test_event_and_uses_an_api_token(
    transactional_db, host, live_server, chromium, screenshots, receiver, tasks_in_process
):
    base = live_server.url
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    log_in(page, base, host.email)

    page.goto(f"{base}/setup/")
    page.click("nav.sidebar >> text=Webhooks")
    page.fill("#id_url", receiver.url)
    page.fill("#id_description", "Our CRM")
    screenshots.take(page, "add-endpoint")
    page.click("text=Add endpoint")
    secret = page.inner_text("[data-testid=signing-secret]")
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    screenshots.take(page, "secret-shown-once")

    page.click("text=Send test event")  # delivered by the task, run in-process here
    page.wait_for_selector("#deliveries")
    assert page.inner_text("[data-testid=delivery-state]").startswith("Delivered")
    assert page.inner_text("[data-testid=delivery-status]") == "200"
    page.click("#deliveries summary")
    assert "webhook.test" in page.inner_text("#deliveries pre")
    screenshots.take(page, "delivery-seen")
    [event] = receiver.events()  # verified with the standardwebhooks library
    assert event["type"] == "webhook.test"
    assert off_loop(lambda: WebhookDelivery.objects.get().attempts) == 1

    # Profile → API tokens: made, shown once, used, revoked.
    page.goto(f"{base}/setup/profile/")
    page.click("text=Manage API tokens")
    page.fill("#id_name", "CRM sync")
    page.click("text=Make token")
    token = page.inner_text("[data-testid=api-token]")
    screenshots.take(page, "token-shown-once")
    api = f"{base}/api/v1/bookings"
    bearer = {"Authorization": f"Bearer {token}"}
    assert requests.get(api, headers=bearer, timeout=10).status_code == 200
    assert requests.get(api, timeout=10).status_code == 401
    page.goto(f"{base}/setup/profile/api-tokens/")  # not a reload: that would post again
    assert page.inner_text("[data-testid=last-used]") != "Never"
    page.click("#tokens button:has-text('Revoke')")
    page.wait_for_selector("text=The token was revoked")
    screenshots.take(page, "token-revoked")
    assert requests.get(api, headers=bearer, timeout=10).status_code == 401
    context.close()
