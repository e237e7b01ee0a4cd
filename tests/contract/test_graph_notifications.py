"""Change and lifecycle notifications as Graph delivers them to an app's endpoint.

From Microsoft Graph v1.0: "Receive change notifications through webhooks"
(the payload, 2xx within 3 seconds, retries for up to 4 hours, several
notifications in one POST), "Change notifications for Outlook resources" (basic
notifications: ``Users/{id}/Events/{id}``, ``#Microsoft.Graph.Event``), and
"Reduce missing subscriptions and change notifications" (lifecycle notifications:
``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``). Notifications can
arrive late, twice, out of order or not at all; the sandbox's delivery controls
make each happen on purpose.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN
from tests.contract.subscribing import (
    CHANGE_PROPERTIES,
    CLIENT_STATE,
    LIFECYCLE_PROPERTIES,
    minutes_ahead,
    subscribe,
)
from tests.contract.test_graph_calendar_view import calendar_ids
from tests.contract.test_graph_events import booking
from tests.support.worker import wait_until

pytestmark = [pytest.mark.slow]

QUIET = 1.5  # seconds to wait before concluding that nothing was sent
SOON = datetime(2030, 3, 4, 10, tzinfo=UTC)


def busy(address: str = ADELE, *, calendar: str | None = None, subject: str = "Dentist"):
    """What a person does in Outlook: put an event in a calendar."""
    return control.event_add(
        address, subject=subject, start=SOON, end=SOON + timedelta(hours=1), calendar=calendar
    )


def ids_of(items: list[dict]) -> list[str]:
    return [item["resourceData"]["id"] for item in items]


def quiet(receiver, path: str = "/notifications") -> list[dict]:
    time.sleep(QUIET)
    return receiver.items(path)


def log_for(receiver, kind: str = "change"):
    return [e for e in control.delivery_log(url_prefix=receiver.base_url) if e.kind == kind]


# --- what arrives -------------------------------------------------------------------------


def test_each_change_type_arrives_in_graphs_shape(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    made = graph("POST", "/me/events", json=booking()).json()
    graph("PATCH", f"/me/events/{made['id']}", json={"subject": "Moved"})
    graph("DELETE", f"/me/events/{made['id']}")

    items = notification_receiver.wait_for_items(3)
    assert [i["changeType"] for i in items] == ["created", "updated", "deleted"]
    oid = control.mailbox(ADELE).object_id
    tenant = control.mailbox(ADELE).tenant.tenant_id
    for item in items:
        assert set(item) == CHANGE_PROPERTIES
        assert item["subscriptionId"] == subscription["id"]
        assert item["subscriptionExpirationDateTime"] == subscription["expirationDateTime"]
        assert item["clientState"] == CLIENT_STATE
        assert item["tenantId"] == str(tenant)
        assert item["resource"] == f"Users/{oid}/Events/{made['id']}"
        assert item["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
        assert item["resourceData"]["@odata.id"] == item["resource"]
        assert item["resourceData"]["id"] == made["id"]
        assert item["resourceData"]["@odata.etag"].startswith('W/"')
    assert items[0]["resourceData"]["@odata.etag"] == made["@odata.etag"]
    assert all(p.content_type.startswith("application/json") for p in notification_receiver.posts)


def test_changes_made_in_outlook_notify_too(graph, notification_receiver):
    """The people page and test controls change events the way a person in Outlook does."""
    subscribe(graph, notification_receiver)
    event = busy()
    control.event_move(
        ADELE, event.id, start=SOON + timedelta(hours=2), end=SOON + timedelta(hours=3)
    )
    control.event_delete(ADELE, event.id)
    items = notification_receiver.wait_for_items(3)
    assert [(i["changeType"], i["resourceData"]["id"]) for i in items] == [
        ("created", event.id),
        ("updated", event.id),
        ("deleted", event.id),
    ]


def test_only_the_change_types_subscribed_to_are_sent(graph, notification_receiver):
    subscribe(graph, notification_receiver, changeType="deleted")
    event = busy()
    control.event_delete(ADELE, event.id)
    items = notification_receiver.wait_for_items(1)
    assert [i["changeType"] for i in quiet(notification_receiver)] == ["deleted"]
    assert ids_of(items) == [event.id]


def test_a_calendar_subscription_hears_only_that_calendar(graph, notification_receiver):
    personal = calendar_ids(graph)["Personal"]
    subscribe(graph, notification_receiver, resource=f"me/calendars/{personal}/events")
    busy(calendar="Calendar", subject="Elsewhere")
    mine = busy(calendar="Personal", subject="Here")
    notification_receiver.wait_for_items(1)
    assert ids_of(quiet(notification_receiver)) == [mine.id]


def test_me_events_covers_every_calendar_the_user_owns_and_nobody_elses(
    graph, notification_receiver
):
    subscribe(graph, notification_receiver)
    in_default = busy(calendar="Calendar")
    in_personal = busy(calendar="Personal")
    busy(MEGAN)  # Megan's calendar, even the one she shares with Adele, is not Adele's mailbox
    notification_receiver.wait_for_items(2)
    assert sorted(ids_of(quiet(notification_receiver))) == sorted([in_default.id, in_personal.id])


def test_client_state_is_null_when_the_app_set_none(graph, notification_receiver):
    subscribe(graph, notification_receiver, clientState=None)
    busy()
    (item,) = notification_receiver.wait_for_items(1)
    assert item["clientState"] is None


def test_changes_made_together_arrive_in_one_post(graph, notification_receiver):
    subscribe(graph, notification_receiver)
    control.deliveries_pause()
    made = [busy(subject=f"Block {n}") for n in range(3)]
    time.sleep(0.5)
    assert notification_receiver.posts == []
    control.deliveries_resume()
    items = notification_receiver.wait_for_items(3)
    assert len(notification_receiver.posts_to("/notifications")) == 1
    assert ids_of(items) == [e.id for e in made]


def test_two_subscriptions_to_one_url_can_share_a_post(graph, notification_receiver):
    first = subscribe(graph, notification_receiver)["id"]
    second = subscribe(graph, notification_receiver, resource="me/calendar/events")["id"]
    control.deliveries_pause()
    busy(calendar="Calendar")
    time.sleep(0.3)
    control.deliveries_resume()
    items = notification_receiver.wait_for_items(2)
    assert sorted(i["subscriptionId"] for i in items) == sorted([first, second])
    assert len(notification_receiver.posts_to("/notifications")) == 1


# --- when the app does not answer ---------------------------------------------------------


def test_a_5xx_answer_is_retried_later(graph, notification_receiver):
    subscribe(graph, notification_receiver)
    notification_receiver.statuses = [503]
    event = busy()
    wait_until(lambda: log_for(notification_receiver), timeout=10)
    (failed,) = log_for(notification_receiver)
    assert (failed.outcome, failed.status) == ("failed", 503)
    assert ids_of(notification_receiver.items()) == [event.id]  # it reached the app once
    control.clock_advance(timedelta(seconds=11))  # the first retry comes 10 s later
    notification_receiver.wait_for_items(2)
    assert ids_of(notification_receiver.items()) == [event.id, event.id]
    # The sandbox logs a delivery once the app's answer is back, after the app has it.
    wait_until(lambda: len(log_for(notification_receiver)) == 2, timeout=10)
    assert [e.outcome for e in log_for(notification_receiver)] == ["failed", "delivered"]


def test_an_answer_after_3_seconds_counts_as_a_failure(graph, notification_receiver):
    subscribe(graph, notification_receiver)
    notification_receiver.statuses = ["slow"]
    notification_receiver.slow_seconds = 3.5
    busy()
    wait_until(lambda: log_for(notification_receiver), timeout=10)
    (failed,) = log_for(notification_receiver)
    assert failed.outcome == "failed"
    assert failed.status is None
    assert "3 seconds" in failed.detail
    control.clock_advance(timedelta(seconds=11))
    wait_until(
        lambda: [e.outcome for e in log_for(notification_receiver)] == ["failed", "delivered"]
    )


def test_after_4_hours_of_failures_the_notification_is_dropped_and_missed_is_sent(
    graph, notification_receiver
):
    subscribe(graph, notification_receiver)
    notification_receiver.default_status = 500
    busy()
    wait_until(lambda: log_for(notification_receiver), timeout=10)
    notification_receiver.default_status = 202  # the app is back, 4 hours later
    control.clock_advance(timedelta(hours=4, minutes=1))
    wait_until(lambda: "missed" in notification_receiver.lifecycle_events(), timeout=10)
    outcomes = [e.outcome for e in log_for(notification_receiver)]
    assert outcomes[0] == "failed"
    assert outcomes[-1] == "dropped"
    wait_until(lambda: control.notifications_waiting() == 0)
    (missed,) = notification_receiver.items("/lifecycle")
    assert set(missed) == LIFECYCLE_PROPERTIES


# --- late, twice, out of order, not at all (delivery controls) -----------------------------


def test_the_drop_control_loses_a_notification(graph, notification_receiver):
    subscribe(graph, notification_receiver)
    control.deliveries_set(kinds=["drop"], times=1)
    lost, kept = busy(subject="Lost"), busy(subject="Kept")
    notification_receiver.wait_for_items(1)
    assert ids_of(quiet(notification_receiver)) == [kept.id]
    (dropped,) = [e for e in log_for(notification_receiver) if e.outcome == "dropped"]
    assert [i["resourceData"]["id"] for i in dropped.value] == [lost.id]


def test_the_delay_control_makes_a_notification_late(graph, notification_receiver):
    subscribe(graph, notification_receiver)
    control.deliveries_set(kinds=["delay"], delay=timedelta(minutes=5), times=1)
    late = busy()
    assert quiet(notification_receiver) == []
    control.clock_advance(timedelta(minutes=5))
    assert ids_of(notification_receiver.wait_for_items(1)) == [late.id]


def test_the_duplicate_control_delivers_twice(graph, notification_receiver):
    subscribe(graph, notification_receiver)
    control.deliveries_set(kinds=["duplicate"], times=1)
    twice = busy()
    items = notification_receiver.wait_for_items(2)
    assert ids_of(items) == [twice.id, twice.id]
    assert items[0] == items[1]
    assert len(notification_receiver.posts_to("/notifications")) == 2


def test_the_reorder_control_lets_a_later_change_overtake(graph, notification_receiver):
    subscribe(graph, notification_receiver)
    control.deliveries_set(kinds=["reorder"], times=1)
    first = busy(subject="First")
    notification_receiver_sees_nothing_yet = quiet(notification_receiver) == []
    second = busy(subject="Second")
    items = notification_receiver.wait_for_items(2)
    assert notification_receiver_sees_nothing_yet
    assert ids_of(items) == [second.id, first.id]


def test_a_control_can_target_one_subscription(graph, notification_receiver):
    watched = subscribe(graph, notification_receiver)["id"]
    other = subscribe(graph, notification_receiver, resource="me/calendar/events")["id"]
    control.deliveries_set(kinds=["drop"], subscription=watched)
    busy(calendar="Calendar")
    items = notification_receiver.wait_for_items(1)
    assert [i["subscriptionId"] for i in quiet(notification_receiver)] == [other]
    assert items


# --- lifecycle notifications ------------------------------------------------------------


def test_a_removed_subscription_is_announced_and_then_silent(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    control.subscription_remove(subscription["id"])
    (removed,) = notification_receiver.wait_for_items(1, path="/lifecycle")
    assert set(removed) == LIFECYCLE_PROPERTIES
    assert removed["lifecycleEvent"] == "subscriptionRemoved"
    assert removed["subscriptionId"] == subscription["id"]
    assert removed["clientState"] == CLIENT_STATE
    assert removed["tenantId"] == str(control.mailbox(ADELE).tenant.tenant_id)
    assert graph("GET", f"/subscriptions/{subscription['id']}").status_code == 404
    busy()
    assert quiet(notification_receiver) == []


def test_missed_can_be_fired(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    assert control.lifecycle_fire(subscription["id"], "missed")
    (missed,) = notification_receiver.wait_for_items(1, path="/lifecycle")
    assert missed["lifecycleEvent"] == "missed"
    assert missed["subscriptionExpirationDateTime"] == subscription["expirationDateTime"]


def test_lifecycle_events_need_a_lifecycle_url(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver, lifecycleNotificationUrl=None)
    assert not control.lifecycle_fire(subscription["id"], "missed")
    assert quiet(notification_receiver, "/lifecycle") == []


def test_reauthorization_required_and_reauthorize(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    control.lifecycle_fire(
        subscription["id"], "reauthorizationRequired", grace=timedelta(minutes=2)
    )
    (challenge,) = notification_receiver.wait_for_items(1, path="/lifecycle")
    assert challenge["lifecycleEvent"] == "reauthorizationRequired"
    assert graph("POST", f"/subscriptions/{subscription['id']}/reauthorize").status_code == 204
    control.clock_advance(timedelta(minutes=3))
    changed = busy()
    assert ids_of(notification_receiver.wait_for_items(1)) == [changed.id]


def test_changes_are_lost_once_a_reauthorization_is_overdue(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    control.lifecycle_fire(
        subscription["id"], "reauthorizationRequired", grace=timedelta(minutes=2)
    )
    notification_receiver.wait_for_items(1, path="/lifecycle")
    busy(subject="Still within the grace")
    notification_receiver.wait_for_items(1)
    control.clock_advance(timedelta(minutes=3))
    lost = busy(subject="Lost")
    assert len(quiet(notification_receiver)) == 1
    (dropped,) = [e for e in log_for(notification_receiver) if e.outcome == "dropped"]
    assert [i["resourceData"]["id"] for i in dropped.value] == [lost.id]
    renewed = graph(
        "PATCH",
        f"/subscriptions/{subscription['id']}",
        json={"expirationDateTime": minutes_ahead(4000)},
    )
    assert renewed.status_code == 200  # renewing reauthorizes too
    flowing = busy(subject="Flowing again")
    assert ids_of(notification_receiver.wait_for_items(2))[-1] == flowing.id


def test_reauthorization_is_asked_for_before_the_subscription_expires(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver, expirationDateTime=minutes_ahead(55))
    (challenge,) = notification_receiver.wait_for_items(1, path="/lifecycle")
    assert challenge["lifecycleEvent"] == "reauthorizationRequired"
    assert challenge["subscriptionId"] == subscription["id"]
    control.clock_advance(timedelta(minutes=16))  # and again every 15 minutes
    notification_receiver.wait_for_items(2, path="/lifecycle")


def test_an_expired_subscription_delivers_nothing(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    control.subscription_expire(subscription["id"])
    busy()
    assert quiet(notification_receiver) == []
    assert graph("GET", f"/subscriptions/{subscription['id']}").status_code == 404


def test_notifications_waiting_when_a_subscription_expires_are_dropped(
    graph, notification_receiver
):
    subscription = subscribe(graph, notification_receiver, expirationDateTime=minutes_ahead(50))
    control.deliveries_pause()
    busy()
    control.clock_advance(timedelta(minutes=51))
    control.deliveries_resume()
    wait_until(lambda: any(e.outcome == "dropped" for e in log_for(notification_receiver)))
    assert notification_receiver.items() == []
    assert control.notifications_waiting(subscription["id"]) == 0


def test_a_deleted_subscription_delivers_nothing_more(graph, notification_receiver):
    subscription = subscribe(graph, notification_receiver)
    graph("DELETE", f"/subscriptions/{subscription['id']}")
    busy()
    assert quiet(notification_receiver) == []


def test_deleting_a_watched_calendar_removes_its_subscription(graph, notification_receiver):
    personal = calendar_ids(graph)["Personal"]
    whole = subscribe(graph, notification_receiver)["id"]
    only_personal = subscribe(
        graph, notification_receiver, resource=f"me/calendars/{personal}/events"
    )["id"]
    busy(calendar="Personal")
    notification_receiver.wait_for_items(2)
    in_personal = {e.id for e in control.events(ADELE, calendar="Personal")}
    control.calendar_delete(ADELE, "Personal")
    (removed,) = notification_receiver.wait_for_items(1, path="/lifecycle")
    assert (removed["subscriptionId"], removed["lifecycleEvent"]) == (
        only_personal,
        "subscriptionRemoved",
    )
    items = notification_receiver.wait_for_items(2 + len(in_personal))
    deleted = [i for i in items if i["changeType"] == "deleted"]
    assert {i["subscriptionId"] for i in deleted} == {whole}
    assert {i["resourceData"]["id"] for i in deleted} == in_personal
    assert [s.id for s in control.subscriptions(ADELE)] == [whole]
