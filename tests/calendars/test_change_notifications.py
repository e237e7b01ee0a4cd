"""Graph change notifications in the product: the webhook, and the subscription's life.

Against the Graph sandbox over HTTPS; the sandbox validates our webhook on
``live_server`` (``SITE_URL`` points there), as Microsoft validates a public site.
The syncs here run in this process, one call at a time; ``test_change_workers.py``
has the proofs with real worker and beat processes.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from calendars import tasks
from calendars.models import CalendarSyncState, ChangeSubscription
from calendars.services.busy_sync import connection_sync, connections_due
from calendars.services.subscriptions import NOTIFIED_SYNC_TASK
from outbox import dispatch as outbox_dispatch
from tests.support.office365 import ADELE
from tests.support.worker import wait_until

NOTIFICATIONS = "/webhooks/office365/notifications"
LIFECYCLE = "/webhooks/office365/lifecycle"


@pytest.fixture
def sent(monkeypatch):
    """Tasks sent to the broker, as (name, args, countdown), sent in this thread at commit."""
    record: list[tuple[str, list, float | None]] = []
    monkeypatch.setattr(outbox_dispatch, "PUBLISH_IN_BACKGROUND", False)
    monkeypatch.setattr(
        outbox_dispatch,
        "task_send",
        lambda name, *, args, countdown=None: record.append((name, args, countdown)) or True,
    )
    return record


@pytest.fixture
def site(live_server, settings):
    """The product served where the sandbox can call it back, and named so by SITE_URL.

    On this machine, which only local development (``DEBUG``, which pytest-django turns
    off) subscribes to: Microsoft itself could not reach it.
    """
    settings.SITE_URL = live_server.url
    settings.DEBUG = True
    settings.CALENDAR_NOTIFICATIONS = True  # off for the rest of the suite (conftest.py)
    return live_server


@pytest.fixture
def subscribed(site, adele, intro):
    """Adele's account after its first sync: busy time read, notifications live."""
    assert connection_sync(connection_id=adele.pk).status == "synced"
    return ChangeSubscription.objects.get(pk=adele.pk)


def ours(o365):
    return o365.control.subscriptions(ADELE)


def changes(o365):
    """Calls that make, renew or delete subscriptions (not the listings that look for strays)."""
    calls = o365.control.request_log(path_prefix="/v1.0/subscriptions")
    return [call for call in calls if call.method != "GET"]


def notice(subscription_id: str, client_state: str, **more) -> dict:
    return {
        "subscriptionId": subscription_id,
        "clientState": client_state,
        "changeType": "updated",
        "resource": "Users/abc/Events/xyz",
        "resourceData": {"id": "xyz"},
        **more,
    }


def post(client, path: str, *items: dict):
    return client.post(path, json.dumps({"value": list(items)}), content_type="application/json")


def notified_syncs(sent) -> list:
    return [s for s in sent if s[0] == NOTIFIED_SYNC_TASK]


# --- the webhook ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", [NOTIFICATIONS, LIFECYCLE])
def test_the_validation_handshake_echoes_the_decoded_token_as_plain_text(client, path):
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    answer = client.post(
        f"{path}?validationToken=Validation%3A+Testing+client+application+reachability+for"
        "+subscription+Request-Id%3A+1",
        b"",
        content_type="text/plain; charset=utf-8",
    )
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    assert answer.content.decode() == token


@pytest.mark.django_db
def test_the_webhook_takes_only_graphs_posts(client):
    assert client.get(NOTIFICATIONS).status_code == 405
    assert client.post(NOTIFICATIONS, "not json", content_type="text/plain").status_code == 400
    assert (
        client.post(NOTIFICATIONS, {"value": "x"}, content_type="application/json").status_code
        == 400
    )
    assert post(client, NOTIFICATIONS).status_code == 202  # an empty batch
    # A NUL is never in Graph's ids; PostgreSQL refuses to compare with one (was a 500).
    for path in (NOTIFICATIONS, LIFECYCLE):
        nul = notice("\x00", "\x00", lifecycleEvent="missed\x00")
        assert post(client, path, nul).status_code == 202


def test_a_notification_queues_one_sync_and_ten_in_a_row_still_one(
    client, subscribed, o365, sent, settings
):
    [remote] = ours(o365)
    calls_before = len(o365.control.request_log())
    # A window the ten posts always fit in, however busy the machine (at load ~14 ten
    # posts through the test client once took longer than the default second).
    settings.CALENDAR_NOTIFICATIONS_DEBOUNCE_MS = 60_000

    for _ in range(10):
        assert (
            post(client, NOTIFICATIONS, notice(remote.id, remote.client_state)).status_code == 202
        )

    [(_name, args, countdown)] = notified_syncs(sent)
    assert args == [subscribed.pk]
    assert countdown == settings.CALENDAR_NOTIFICATIONS_DEBOUNCE_MS / 1000
    assert len(o365.control.request_log()) == calls_before, "the webhook never calls Graph"
    assert ChangeSubscription.objects.get(pk=subscribed.pk).notified_at is not None

    # The sync starts: a notification from then on may be newer than its read, so it
    # queues another.
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(sync_queued_until=None)
    post(client, NOTIFICATIONS, notice(remote.id, remote.client_state))
    assert len(notified_syncs(sent)) == 2


def test_a_batch_of_many_changes_is_one_notice_answered_at_once(
    client, subscribed, o365, sent, django_assert_max_num_queries
):
    # Graph batches changes (a calendar imported at once: hundreds of items, one
    # subscription) and wants its 2xx within 3 seconds.
    [remote] = ours(o365)
    changes = [
        notice(remote.id, remote.client_state, resourceData={"id": f"AAMk{number}="})
        for number in range(1500)
    ]
    with django_assert_max_num_queries(8):
        answer = post(client, NOTIFICATIONS, *changes)
    assert answer.status_code == 202
    [(_name, args, _countdown)] = notified_syncs(sent)
    assert args == [subscribed.pk]


def test_a_wrong_client_state_or_an_unknown_subscription_is_answered_and_ignored(
    client, subscribed, o365, sent, caplog
):
    [remote] = ours(o365)
    caplog.set_level(logging.INFO)
    wrong = remote.client_state[:-1] + ("A" if remote.client_state[-1] != "A" else "B")

    for item in (
        notice(remote.id, wrong),
        notice(remote.id, ""),
        notice("00000000-0000-0000-0000-000000000000", remote.client_state),
        {"clientState": remote.client_state},
    ):
        assert post(client, NOTIFICATIONS, item).status_code == 202
    assert (
        post(client, LIFECYCLE, notice(remote.id, wrong, lifecycleEvent="missed")).status_code
        == 202
    )

    assert notified_syncs(sent) == []
    assert CalendarSyncState.objects.exclude(delta_link="").exists()  # "missed" not acted on
    assert "wrong clientState" in caplog.text
    assert "unknown subscription" in caplog.text
    assert wrong not in caplog.text
    assert remote.client_state not in caplog.text


# --- the subscription's life ---------------------------------------------------------------------


def test_the_first_sync_subscribes_to_the_mailbox_with_our_urls_and_a_secret_kept_hashed(
    client, subscribed, o365, site, settings
):
    [remote] = ours(o365)
    assert remote.resource == "me/events"
    assert remote.change_type == "created,updated,deleted"
    assert remote.notification_url == f"{site.url}{NOTIFICATIONS}"
    assert remote.lifecycle_notification_url == f"{site.url}{LIFECYCLE}"
    assert 32 <= len(remote.client_state) <= 128
    lifetime = remote.expires_at - o365.control.clock_now()
    assert timedelta(minutes=4220) < lifetime <= timedelta(minutes=4230)
    # Both URLs were validated by the sandbox, on the live server.
    validations = [d for d in o365.control.delivery_log() if d.kind == "validation"]
    assert {d.outcome for d in validations} == {"validated"}
    assert len(validations) == 2

    row = ChangeSubscription.objects.get(pk=subscribed.pk)
    assert row.remote_id == remote.id
    assert row.expires_at == remote.expires_at
    assert remote.client_state not in json.dumps(
        list(ChangeSubscription.objects.values()), default=str
    )
    # Renewal is due once half the granted lifetime passed, well before the expiry.
    assert row.renew_at < row.expires_at - timedelta(hours=30)

    page = client.get("/setup/integration/calendar/")
    assert "Live updates are on" in page.content.decode()
    assert connections_due() == []  # live and just read: beat leaves it alone


def test_a_lifetime_graph_refuses_as_too_long_falls_back_to_a_shorter_one(
    site, adele, intro, o365, settings
):
    settings.CALENDAR_NOTIFICATIONS_LIFETIME_MINUTES = 10080 - 5  # the newer pages' cap

    connection_sync(connection_id=adele.pk)

    creates = changes(o365)
    assert [(c.method, c.status) for c in creates] == [("POST", 400), ("POST", 201)]
    [remote] = ours(o365)
    assert remote.expires_at - o365.control.clock_now() <= timedelta(minutes=4230)

    # A Graph with a shorter cap still gets a subscription (an hour, renewed in 30 minutes).
    o365.control.subscription_lifetime_cap_set(1000)
    ChangeSubscription.objects.filter(pk=adele.pk).update(renew_at=timezone.now())
    connection_sync(connection_id=adele.pk)
    [renewed] = ours(o365)
    assert renewed.id == remote.id
    assert renewed.expires_at - o365.control.clock_now() <= timedelta(minutes=60)
    assert ChangeSubscription.objects.get(pk=adele.pk).expires_at == renewed.expires_at


def test_renewal_patches_before_expiry_and_a_vanished_subscription_is_made_again(subscribed, o365):
    [remote] = ours(o365)
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(renew_at=timezone.now())
    assert subscribed.pk in connections_due()  # beat queues the renewal

    connection_sync(connection_id=subscribed.pk)

    calls = changes(o365)
    assert (calls[-1].method, calls[-1].status) == ("PATCH", 200)
    assert ChangeSubscription.objects.get(pk=subscribed.pk).renew_at > timezone.now()

    # Graph let it run out (nobody renewed in time): the renewal's 404 makes a new one.
    o365.control.subscription_expire(remote.id)
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(renew_at=timezone.now())
    connection_sync(connection_id=subscribed.pk)
    [again] = ours(o365)
    assert again.id != remote.id
    assert ChangeSubscription.objects.get(pk=subscribed.pk).remote_id == again.id


def test_a_renewal_microsoft_refuses_for_now_keeps_the_subscription_and_tries_again(
    subscribed, o365
):
    [remote] = ours(o365)
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(renew_at=timezone.now())
    o365.control.faults_set(kinds=("503",), mailbox=ADELE, retry_after=60, times=1)

    assert connection_sync(connection_id=subscribed.pk).status == "synced"

    row = ChangeSubscription.objects.get(pk=subscribed.pk)
    assert row.remote_id == remote.id  # still notifies until it expires
    assert row.client_state_digest
    assert timezone.now() + timedelta(seconds=50) < row.renew_at < row.expires_at
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(renew_at=timezone.now())
    connection_sync(connection_id=subscribed.pk)
    assert ChangeSubscription.objects.get(pk=subscribed.pk).renew_at > row.renew_at
    assert [s.id for s in ours(o365)] == [remote.id]


def test_a_renewal_answered_404_about_the_whole_mailbox_keeps_the_subscription(subscribed, o365):
    """Graph answers every call for a mailbox whose licence was taken away 404
    MailboxNotEnabledForRESTAPI, the renewal included: the subscription is not gone
    (a new one would be refused the same), so it is kept and renewed once the licence
    is back, rather than forgotten and made again."""
    [remote] = ours(o365)
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(renew_at=timezone.now())
    o365.control.faults_set(kinds=("unlicensed",), mailbox=ADELE)

    connection_sync(connection_id=subscribed.pk)

    calls = changes(o365)
    assert [(c.method, c.status) for c in calls[-1:]] == [("PATCH", 404)]  # no create tried
    row = ChangeSubscription.objects.get(pk=subscribed.pk)
    assert row.remote_id == remote.id
    assert row.client_state_digest
    assert timezone.now() < row.renew_at <= row.expires_at

    o365.control.faults_clear()
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(renew_at=timezone.now())
    connection_sync(connection_id=subscribed.pk)
    assert (changes(o365)[-1].method, changes(o365)[-1].status) == ("PATCH", 200)
    assert [s.id for s in ours(o365)] == [remote.id]
    assert ChangeSubscription.objects.get(pk=subscribed.pk).remote_id == remote.id


def test_lifecycle_events_renew_recreate_and_read_in_full(client, subscribed, o365, sent):
    [remote] = ours(o365)

    post(client, LIFECYCLE, notice(remote.id, remote.client_state, lifecycleEvent="missed"))
    assert not CalendarSyncState.objects.exclude(delta_link="").exists()  # a full read next
    assert len(notified_syncs(sent)) == 1

    ChangeSubscription.objects.filter(pk=subscribed.pk).update(sync_queued_until=None)
    post(
        client,
        LIFECYCLE,
        notice(remote.id, remote.client_state, lifecycleEvent="reauthorizationRequired"),
    )
    assert ChangeSubscription.objects.get(pk=subscribed.pk).renew_at <= timezone.now()
    tasks.sync_notified(subscribed.pk)
    calls = changes(o365)
    assert calls[-1].method == "PATCH"

    # Microsoft removes it: the sandbox's delivery thread tells our live server.
    o365.control.subscription_remove(remote.id)
    wait_until(lambda: ChangeSubscription.objects.get(pk=subscribed.pk).remote_id == "", timeout=15)
    tasks.sync_notified(subscribed.pk)
    [again] = ours(o365)
    assert again.id != remote.id
    assert ChangeSubscription.objects.get(pk=subscribed.pk).remote_id == again.id


def test_disconnecting_deletes_the_subscription_and_pages_without_busy_time_drop_it(
    client, subscribed, o365, sent, intro, adele
):
    [remote] = ours(o365)

    client.post(f"/setup/integration/calendar/{adele.pk}/disconnect/")

    [(_name, args, _)] = [s for s in sent if s[0] == "calendars.tasks.delete_subscription"]
    assert remote.id in args
    assert all(remote.client_state not in str(a) for a in args)
    assert tasks.delete_subscription(*args) is True
    assert ours(o365) == []
    assert ChangeSubscription.objects.get(pk=adele.pk).remote_id == ""


def test_reconnecting_reads_in_full_and_subscribes_again(client, subscribed, o365, adele):
    from tests.support.office365 import connect_host

    client.post(f"/setup/integration/calendar/{adele.pk}/disconnect/")
    state = CalendarSyncState.objects.get(calendar__connection=adele, calendar__name="Calendar")
    assert state.delta_link

    connect_host(client, o365)

    assert not CalendarSyncState.objects.exclude(delta_link="").exists()
    assert connection_sync(connection_id=adele.pk).status == "synced"
    state.refresh_from_db()
    assert state.delta_link
    assert state.full_synced_at > subscribed.updated_at  # read in full again
    # (The old one's deletion was queued on disconnect; no worker runs here.)
    now = ChangeSubscription.objects.get(pk=adele.pk).remote_id
    assert now
    assert now != subscribed.remote_id
    assert now in {remote.id for remote in ours(o365)}


def test_a_page_that_stops_reading_busy_time_lets_the_subscription_go(subscribed, o365, intro):
    from booking.services.pages import page_set_active

    page_set_active(page=intro, active=False)
    assert subscribed.pk in connections_due()

    connection_sync(connection_id=subscribed.pk)

    assert ours(o365) == []


def test_calendar_status_says_whether_notifications_are_live(subscribed, capsys, settings):
    call_command("calendar_status")
    line = capsys.readouterr().out.strip()
    until = ChangeSubscription.objects.get(pk=subscribed.pk).expires_at
    assert line.endswith(f" push=live until {until:%Y-%m-%dT%H:%M}Z")

    settings.DEBUG = False
    settings.SITE_URL = "http://book.example.com"
    call_command("calendar_status")
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith(
            "push=off(SITE_URL (http://book.example.com) is not HTTPS, which Microsoft requires)"
        )
    )


def test_where_microsoft_cannot_reach_site_url_nothing_is_subscribed_and_setup_says_so(
    client, site, adele, intro, o365, settings
):
    settings.DEBUG = False
    settings.SITE_URL = "https://127.0.0.1:8443"

    assert connection_sync(connection_id=adele.pk).status == "synced"  # polling goes on

    assert ours(o365) == []
    page = client.get("/setup/integration/calendar/").content.decode()
    assert "Live updates are off: SITE_URL (https://127.0.0.1:8443) is not a public" in page
    assert "Busy time is read every 5 minutes." in page
    assert adele.pk in connections_due()  # every beat cycle, as before


@pytest.mark.django_db
def test_check_deploy_warns_when_site_url_is_not_public_https(settings):
    from calendars.checks import change_notifications_check

    settings.CALENDAR_NOTIFICATIONS = True
    settings.DEBUG = False
    settings.SITE_URL = "http://book.example.com"
    [warning] = change_notifications_check(None)
    assert warning.id == "calendars.W002"
    assert "not HTTPS" in warning.msg
    assert "only polled" in warning.msg

    settings.SITE_URL = "https://book.example.com"
    assert change_notifications_check(None) == []
    settings.CALENDAR_NOTIFICATIONS = False  # turned off on purpose: no warning
    settings.SITE_URL = "http://book.example.com"
    assert change_notifications_check(None) == []


def test_a_failed_validation_is_shown_in_setup_and_tried_again_later(
    client, site, adele, intro, o365, settings
):
    settings.SITE_URL = "http://127.0.0.1:9"  # nothing listens: Graph's validation fails

    connection_sync(connection_id=adele.pk)

    row = ChangeSubscription.objects.get(pk=adele.pk)
    assert row.remote_id == ""
    assert row.retry_at > timezone.now()
    page = client.get("/setup/integration/calendar/").content.decode()
    assert "Live updates are not working: Microsoft could not validate our notification" in page
    assert adele.pk in connections_due()


def test_a_mailbox_with_a_thousand_subscriptions_says_so_and_keeps_polling(
    client, site, adele, intro, o365
):
    o365.control.subscriptions_fill(ADELE, 1000)

    assert connection_sync(connection_id=adele.pk).status == "synced"

    page = client.get("/setup/integration/calendar/").content.decode()
    assert "already has the most change-notification subscriptions Microsoft allows" in page
    assert adele.pk in connections_due()


def test_a_notified_sync_waits_its_turn_behind_another_workers_sync(subscribed, sent, o365):
    from calendars.models import CalendarConnection

    held = timezone.now() + timedelta(seconds=60)
    CalendarConnection.objects.filter(pk=subscribed.pk).update(sync_claimed_until=held)

    assert tasks.sync_notified(subscribed.pk) == "skipped"
    assert tasks.sync_notified(subscribed.pk, 3) == "skipped"

    assert notified_syncs(sent) == [
        (NOTIFIED_SYNC_TASK, [subscribed.pk, 1], 0.5),
        (NOTIFIED_SYNC_TASK, [subscribed.pk, 4], 4.0),
    ]
    CalendarConnection.objects.filter(pk=subscribed.pk).update(sync_claimed_until=None)
    assert tasks.sync_notified(subscribed.pk, 4) == "synced"
    assert len(notified_syncs(sent)) == 2


def test_a_subscription_we_no_longer_hold_is_deleted_by_the_next_renewal_sweep(
    subscribed, o365, sent
):
    """An account disconnected when its sign-in could no longer delete the subscription
    (``subscription_forget`` forgets it here; the deletion task never ran), then used
    again: the sync makes a new one and deletes the one left behind. Another app's
    subscriptions, and those of another deployment of our app (another URL), stay."""
    from calendars.services.subscription_farewell import subscription_forget

    [left_behind] = ours(o365)
    o365.control.subscriptions_fill(ADELE, 2)  # another app
    o365.control.subscriptions_fill(ADELE, 1, client_id=left_behind.client_id)  # staging, say
    others = {s.id for s in ours(o365)} - {left_behind.id}
    subscription_forget(connection=subscribed.connection)  # no task runs: `sent` keeps it

    assert connection_sync(connection_id=subscribed.pk).status == "synced"

    row = ChangeSubscription.objects.get(pk=subscribed.pk)
    live = {s.id for s in ours(o365)}
    assert row.remote_id in live
    assert left_behind.id not in live
    assert live == others | {row.remote_id}
    deletes = [c for c in changes(o365) if c.method == "DELETE"]
    assert [c.path for c in deletes] == [f"/v1.0/subscriptions/{left_behind.id}"]


def test_a_subscription_another_connection_holds_is_not_a_stray(subscribed, o365, sent, teammate):
    """Two hosts who connected the same mailbox each hold a subscription; each one's
    renewal lists the other's and leaves it alone."""
    from calendars.models import CalendarConnection
    from calendars.services.subscriptions import subscription_strays_delete

    [remote] = ours(o365)
    bobs = CalendarConnection.objects.create(
        host=teammate, provider="office365", account_id="bob.tid", account_email=ADELE
    )
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(remote_id="")
    ChangeSubscription.objects.create(connection=bobs, remote_id=remote.id)

    assert subscription_strays_delete(connection=subscribed.connection) == []
    assert [s.id for s in ours(o365)] == [remote.id]
    ChangeSubscription.objects.filter(pk=bobs.pk).update(remote_id="")
    assert subscription_strays_delete(connection=subscribed.connection) == [remote.id]
    assert ours(o365) == []


def test_each_calendar_read_for_busy_time_shows_the_live_updates_state(client, subscribed, o365):
    from calendars.models import Calendar

    html = client.get("/setup/integration/calendar/").content.decode()
    busy = Calendar.objects.filter(connection=subscribed.connection, busy_horizon_days__gt=0)
    idle = Calendar.objects.filter(connection=subscribed.connection, busy_horizon_days=0)
    assert busy.exists()
    assert idle.exists()
    for calendar in busy:
        row = html.split(f'data-calendar="{calendar.pk}"')[1].split("</li>")[0]
        assert 'data-testid="calendar-live-updates" data-state="live"' in row
        assert "live updates on" in row
    for calendar in idle:
        row = html.split(f'data-calendar="{calendar.pk}"')[1].split("</li>")[0]
        assert "calendar-live-updates" not in row

    # Failing: the row says so too.
    ChangeSubscription.objects.filter(pk=subscribed.pk).update(
        remote_id="", expires_at=None, last_error="Microsoft refused it"
    )
    html = client.get("/setup/integration/calendar/").content.decode()
    assert html.count('data-testid="calendar-live-updates" data-state="failing"') == busy.count()


def test_setup_says_once_that_live_updates_are_switched_off(
    client, site, adele, intro, o365, settings
):
    """With CALENDAR_NOTIFICATIONS=0 Calendar integration gives the reason without saying
    "live updates are off" twice in one sentence (it did, in English and in German)."""
    import re

    def sentence(language: str) -> str:
        page = client.get("/setup/integration/calendar/", HTTP_ACCEPT_LANGUAGE=language)
        found = re.search(r'data-testid="live-updates"[^>]*>([^<]*)<', page.content.decode())
        assert found, "no live-updates line"
        return found.group(1)

    settings.CALENDAR_NOTIFICATIONS = False
    english = sentence("en")
    assert english.startswith(
        "Live updates are off: turned off by the operator (CALENDAR_NOTIFICATIONS=0). "
    )
    assert english.lower().count("live updates") == 1
    assert sentence("de").count("Live-Aktualisierungen") == 1
