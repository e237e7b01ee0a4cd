"""An accessibility scan with axe-core (axe-playwright-python) in a real browser: the
booking page at each step, the confirmation, reschedule and cancel pages, the embed,
German pages, and Setup. No serious or critical violation may be found.

Minor and moderate findings are printed, not failed (``-s`` shows them).
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from booking.services.bookings import Invitee, booking_create
from booking.services.pages import page_create
from booking.tokens import booking_paths
from calendars.models import Calendar, CalendarConnection
from tests.support.booking import at, workday
from tests.support.browser import log_in, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BLOCKING = ("serious", "critical")
SETUP_PAGES = [
    "/setup/",
    "/setup/profile/",
    "/setup/integration/calendar/",
    "/setup/booking-pages/",
    "/setup/booking-pages/new/",
    "/setup/booking-pages/{pk}/",
    "/setup/booking-pages/{pk}/calendars/",
    "/setup/meetings/",
    "/setup/team/",
    "/setup/integration/webhooks/",
    "/setup/integration/webhooks/{endpoint}/",
    "/setup/profile/api-tokens/",
    "/setup/profile/password/",
    "/setup/meetings/{booking}/",
    "/setup/booking-pages/working-hours/",
    "/setup/team/pages/new/",
    "/setup/team/pages/{team}/members/",
]
# Pages anyone reaches besides the booking flow: sign-in, an invitation, error pages.
OTHER_PAGES = [
    "/",
    "/accounts/password-reset/",
    "/book/nobody-here/",  # 404
    "/accounts/reset/MQ/not-a-key/",  # 400: the link is not valid
    "/book/{team}/",  # a round-robin team page
    "{invitation}",
]


def _things(host):
    from accounts.services import invitation_create, invitation_token, organization_create_for
    from booking.services.teams import Seat, team_page_create
    from integrations.tokens import token_create
    from integrations.webhooks import endpoint_create

    organization = organization_create_for(user=host, name="Contoso").organization
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    Calendar.objects.create(connection=connection, remote_id="A", name="Calendar", is_default=True)
    Calendar.objects.create(connection=connection, remote_id="B", name="Personal")
    page = page_create(host=host, fields={"title": "Intro call", "slug": "intro"})
    booking = booking_create(
        page=page,
        start=at(workday("Europe/London", days_ahead=3), 11),
        invitee=Invitee(name="Dana", email="dana@example.com", time_zone="Asia/Kolkata"),
    )
    team = team_page_create(
        admin=host,
        organization=organization,
        kind="round_robin",
        fields={"title": "Sales", "slug": "sales"},
        seats=[Seat(user_id=host.pk)],
    )
    endpoint, _secret = endpoint_create(
        owner=host, url="http://127.0.0.1:9/hook", events=["booking.created"]
    )
    token_create(owner=host, name="CRM")
    invitation = invitation_create(
        organization=organization, email="new@example.com", role="member", invited_by=host
    )
    ids = {
        "pk": page.pk,
        "endpoint": endpoint.pk,
        "booking": booking.pk,
        "team": team.pk,
        "invitation": reverse("accounts:invitation", args=[invitation_token(invitation)]),
    }
    return ids, booking_paths(booking)


class Scan:
    def __init__(self) -> None:
        self.axe = Axe()
        self.blocking: list[str] = []

    def __call__(self, page, where: str) -> None:
        results = self.axe.run(page)
        for violation in results.response["violations"]:
            nodes = [", ".join(node["target"]) for node in violation["nodes"]][:5]
            line = f"{where}: {violation['id']} ({violation['impact']}) at {nodes}"
            if violation["impact"] in BLOCKING:
                self.blocking.append(line)
            else:
                print(line)


def test_no_serious_or_critical_accessibility_violations(
    transactional_db, host, live_server, chromium
):
    ids, links = off_loop(lambda: _things(host))
    scan = Scan()
    base = live_server.url
    for locale, width in [("en-US", 1280), ("de-DE", 375)]:
        context = chromium.new_context(
            viewport={"width": width, "height": 900}, locale=locale, timezone_id="Europe/London"
        )
        invitee = context.new_page()
        invitee.goto(f"{base}/book/intro/")
        invitee.locator("button.day.has-slots").first.wait_for()
        scan(invitee, f"booking page ({locale}, {width} px)")
        invitee.locator("#tz-input").fill("new")
        scan(invitee, f"zone picker open ({locale})")
        invitee.keyboard.press("Escape")
        invitee.locator("button.day.has-slots").first.click()
        invitee.locator("button.slot").first.wait_for()
        scan(invitee, f"the day's times ({locale})")
        invitee.locator("button.slot").first.click()
        invitee.locator("#booking-form").wait_for()
        scan(invitee, f"details form ({locale})")
        for name in ("manage", "reschedule", "cancel"):
            invitee.goto(base + links[name])
            invitee.wait_for_load_state("load")
            scan(invitee, f"{name} ({locale})")
        invitee.goto(f"{base}/book/intro/?embed=1")
        invitee.locator("button.day.has-slots").first.wait_for()
        scan(invitee, f"embedded booking page ({locale})")
        context.close()

    setup = chromium.new_page(viewport={"width": 1280, "height": 900})
    log_in(setup, base, host.email)
    for path in SETUP_PAGES:
        answer = setup.goto(base + path.format(**ids))
        assert answer.status == 200, path
        scan(setup, f"Setup {path}")
    answer = setup.goto(base + "/setup/meetings/999999/")
    assert answer.status == 404
    scan(setup, "Setup's 404 page")
    answer = setup.goto(base + f"/setup/booking-pages/{ids['pk']}/toggle/")  # a form's address: 405
    assert answer.status == 405
    scan(setup, "the 405 page")
    for path in ["/accounts/login/", "/accounts/signup/"]:
        fresh = chromium.new_page()
        fresh.goto(base + path)
        scan(fresh, path)
    for path in OTHER_PAGES:
        path = path.format(team="sales", invitation=ids["invitation"])
        fresh.goto(base + path)
        scan(fresh, path)
    for locale in ("en-US", "de-DE"):  # a form sent without its CSRF cookie: our 403 page
        context = chromium.new_context(locale=locale)
        refused = context.new_page()
        refused.goto(base + "/accounts/login/")
        context.clear_cookies()
        refused.fill("#id_username", "dana@example.com")
        refused.fill("#id_password", "not-it")
        refused.click("button[type=submit]")
        refused.locator("[data-testid=reason]").wait_for()
        scan(refused, f"the CSRF refusal ({locale})")
        context.close()
    assert not scan.blocking, "\n".join(scan.blocking)

    # The scan itself works: a button without a name is a critical violation it reports.
    fresh.evaluate("document.body.appendChild(document.createElement('button'))")
    scan(fresh, "a page with a nameless button")
    assert [line for line in scan.blocking if "button-name (critical)" in line]
