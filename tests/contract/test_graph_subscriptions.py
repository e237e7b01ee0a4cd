"""Change-notification subscriptions: creating (with the validation handshake), the limits,
renewing, listing, reading, reauthorizing and deleting them.

From Microsoft Graph v1.0: "Create subscription", "Update subscription", "List
subscriptions", "Get subscription", "Delete subscription", "subscription:
reauthorize", the subscription resource type, "Receive change notifications through
webhooks" (notificationUrl validation) and "Change notifications for Outlook
resources" (1,000 subscriptions per mailbox). The app's endpoint is a real local
HTTP server (``notification_receiver``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN
from tests.contract.subscribing import (
    CLIENT_STATE,
    SUBSCRIPTION_PROPERTIES,
    minutes_ahead,
    parse,
    subscribe,
    subscription_body,
)
from tests.contract.test_graph_calendar_view import calendar_ids

pytestmark = [pytest.mark.slow]

BAD_PAYLOAD = (
    "Could not process subscription creation payload. Are all property names spelled and "
    "camelCased properly?"
)


def error_of(response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


# --- creating ---------------------------------------------------------------------------------


def test_create_validates_the_url_then_answers_201_in_graphs_shape(
    sandbox, graph, notification_receiver
):
    created = subscribe(graph, notification_receiver)
    assert set(created) == SUBSCRIPTION_PROPERTIES
    assert created["@odata.context"].endswith("/v1.0/$metadata#subscriptions/$entity")
    assert created["resource"] == "/me/events"
    assert created["changeType"] == "created,updated,deleted"
    assert created["clientState"] == CLIENT_STATE
    assert created["notificationUrl"] == notification_receiver.notification_url
    assert created["lifecycleNotificationUrl"] == notification_receiver.lifecycle_url
    assert created["applicationId"] == sandbox.client_id
    assert created["creatorId"] == str(control.mailbox(ADELE).object_id)
    assert created["latestSupportedTlsVersion"] == "v1_2"
    assert created["includeResourceData"] is None
    assert created["encryptionCertificate"] is None
    assert created["expirationDateTime"].endswith("Z")
    # Graph POSTed each URL an opaque token, which the endpoint had to URL-decode.
    paths = [path for path, _ in notification_receiver.validations]
    assert paths == ["/notifications", "/lifecycle"]
    token = notification_receiver.validations[0][1]
    assert " " in token
    assert ":" in token
    (stored,) = control.subscriptions(ADELE)
    assert stored.id == created["id"]


def test_the_subscription_belongs_to_the_signed_in_user(graph, notification_receiver):
    created = subscribe(graph, notification_receiver, as_=MEGAN)
    assert created["creatorId"] == str(control.mailbox(MEGAN).object_id)
    assert [s.address for s in control.subscriptions()] == [MEGAN]


@pytest.mark.parametrize(
    ("mode", "code", "message"),
    [
        (
            "refuse",
            "ValidationError",
            "Subscription validation request failed. Notification endpoint must respond with "
            "200 OK to validation request.",
        ),
        (
            "encoded",
            "ValidationError",
            "Subscription validation request failed. Response must exactly match "
            "validationToken query parameter.",
        ),
        ("html", "ValidationError", None),
    ],
)
def test_a_failed_validation_is_a_400_and_stores_nothing(
    graph, notification_receiver, mode, code, message
):
    notification_receiver.validation = mode
    response = graph("POST", "/subscriptions", json=subscription_body(notification_receiver))
    status, got_code, got_message = error_of(response)
    assert (status, got_code) == (400, code)
    if message:
        assert got_message == message
    assert "Subscription validation request failed" in got_message
    assert control.subscriptions() == []
    assert graph("GET", "/subscriptions").json()["value"] == []


def test_the_lifecycle_url_is_validated_too(graph, notification_receiver):
    body = subscription_body(
        notification_receiver, lifecycleNotificationUrl="http://127.0.0.1:9/nobody-listens"
    )
    response = graph("POST", "/subscriptions", json=body)
    assert error_of(response)[:2] == (400, "ValidationError")
    assert control.subscriptions() == []


def test_an_endpoint_that_answers_after_10_seconds_times_out(graph, notification_receiver):
    notification_receiver.validation = "slow"
    notification_receiver.slow_seconds = 11
    response = graph("POST", "/subscriptions", json=subscription_body(notification_receiver))
    assert error_of(response) == (
        400,
        "InvalidRequest",
        "Subscription validation request timed out.",
    )
    assert control.subscriptions() == []


def test_plain_http_is_refused_except_on_this_machine(graph, notification_receiver):
    body = subscription_body(notification_receiver, notificationUrl="http://hooks.example.com/x")
    response = graph("POST", "/subscriptions", json=body)
    assert error_of(response) == (
        400,
        "InvalidRequest",
        "NotificationUrl scheme='http' is not supported.",
    )
    assert notification_receiver.validations == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"changeType": "created,moved"}, "Invalid 'changeType' attribute: 'moved'."),
        ({"changeType": "Created"}, "Invalid 'changeType' attribute: 'Created'."),
        (
            {"expirationDateTime": None},
            "expirationDateTime is a required property for subscription creation",
        ),
        ({"resource": None}, "resource is a required property for subscription creation"),
        ({"expirationDateTime": "2030-01-01T10:00:00"}, BAD_PAYLOAD),  # no offset
        ({"expirationDateTime": "tomorrow"}, BAD_PAYLOAD),
        ({"changetype": "created"}, BAD_PAYLOAD),  # misspelt property
        ({"clientState": 42}, BAD_PAYLOAD),
    ],
)
def test_a_malformed_request_is_a_400_before_any_validation(
    graph, notification_receiver, changes, message
):
    response = graph(
        "POST", "/subscriptions", json=subscription_body(notification_receiver, **changes)
    )
    status, code, got = error_of(response)
    assert (status, code, got) == (400, "InvalidRequest", message)
    assert notification_receiver.validations == []


def test_client_state_is_at_most_128_characters(graph, notification_receiver):
    assert (
        subscribe(graph, notification_receiver, clientState="s" * 128)["clientState"] == "s" * 128
    )
    too_long = subscription_body(notification_receiver, clientState="s" * 129)
    assert graph("POST", "/subscriptions", json=too_long).status_code == 400


def test_optional_properties_are_echoed_and_tls_defaults_to_1_2(graph, notification_receiver):
    created = subscribe(
        graph, notification_receiver, latestSupportedTlsVersion="v1_3", clientState=None
    )
    assert created["latestSupportedTlsVersion"] == "v1_3"
    assert created["clientState"] is None


def test_resource_data_is_not_offered(graph, notification_receiver):
    body = subscription_body(notification_receiver, includeResourceData=True)
    assert graph("POST", "/subscriptions", json=body).status_code == 400


# --- which resources ------------------------------------------------------------------------


def test_the_resource_forms_graph_takes_for_events(graph, notification_receiver):
    ids = calendar_ids(graph)
    oid = str(control.mailbox(ADELE).object_id)
    forms = {
        "me/events": None,
        "/me/events": None,
        "me/calendar/events": "Calendar",
        f"me/calendars/{ids['Personal']}/events": "Personal",
        f"/users/{oid}/events": None,
        f"users/{ADELE}/calendars/{ids['Calendar']}/events": "Calendar",
    }
    for resource in forms:
        assert subscribe(graph, notification_receiver, resource=resource)["resource"] == resource
    watched = {s.resource: s.calendar for s in control.subscriptions(ADELE)}
    assert watched == forms


def test_only_the_signed_in_users_own_calendars_can_be_watched(graph, notification_receiver):
    ids = calendar_ids(graph)
    megan = str(control.mailbox(MEGAN).object_id)
    refusals = {
        f"me/calendars/{ids['Megan Bowen']}/events": 403,  # shared with Adele: not hers
        f"users/{megan}/events": 403,
        "me/calendars/AAMkNoSuchCalendar=/events": 404,
        "me/messages": 400,
        "me/events?$filter=subject eq 'x'": 400,
    }
    for resource, status in refusals.items():
        body = subscription_body(notification_receiver, resource=resource)
        assert graph("POST", "/subscriptions", json=body).status_code == status, resource
    assert control.subscriptions() == []


# --- lifetime ------------------------------------------------------------------------------


def test_an_expiry_beyond_the_cap_is_refused(graph, notification_receiver):
    body = subscription_body(notification_receiver, expirationDateTime=minutes_ahead(4231))
    assert error_of(graph("POST", "/subscriptions", json=body)) == (
        400,
        "ExtensionError",
        "Subscription expiration can only be 4230 minutes in the future.",
    )
    created = subscribe(graph, notification_receiver, expirationDateTime=minutes_ahead(4229))
    assert parse(created["expirationDateTime"]) > control.clock_now() + timedelta(minutes=4228)


def test_the_cap_follows_the_sandbox_setting(graph, notification_receiver):
    control.subscription_lifetime_cap_set(10080)  # what newer Microsoft pages say
    created = subscribe(graph, notification_receiver, expirationDateTime=minutes_ahead(10000))
    assert parse(created["expirationDateTime"]) > control.clock_now() + timedelta(days=6)
    body = subscription_body(notification_receiver, expirationDateTime=minutes_ahead(10081))
    assert "10080 minutes" in error_of(graph("POST", "/subscriptions", json=body))[2]


def test_an_expiry_under_45_minutes_is_lengthened_to_45(graph, notification_receiver):
    before = control.clock_now()
    created = subscribe(graph, notification_receiver, expirationDateTime=minutes_ahead(10))
    granted = parse(created["expirationDateTime"]) - before
    assert timedelta(minutes=45) <= granted < timedelta(minutes=46)


def test_an_expiry_in_the_past_is_refused(graph, notification_receiver):
    body = subscription_body(notification_receiver, expirationDateTime=minutes_ahead(-5))
    assert graph("POST", "/subscriptions", json=body).status_code == 400


def test_a_mailbox_holds_at_most_1000_subscriptions_across_apps(graph, notification_receiver):
    control.subscriptions_fill(ADELE, 999)  # made by another app
    subscribe(graph, notification_receiver)
    response = graph("POST", "/subscriptions", json=subscription_body(notification_receiver))
    status, code, message = error_of(response)
    assert (status, code) == (403, "ExtensionError")
    assert "Maximum number of subscriptions has been reached" in message
    subscribe(graph, notification_receiver, as_=MEGAN)  # another mailbox is not affected


def test_expired_subscriptions_do_not_count_or_show(graph, notification_receiver):
    created = subscribe(graph, notification_receiver, expirationDateTime=minutes_ahead(50))
    control.clock_advance(timedelta(minutes=51))  # the access token lasts an hour
    assert graph("GET", "/subscriptions").json()["value"] == []
    assert graph("GET", f"/subscriptions/{created['id']}").status_code == 404
    control.subscriptions_fill(ADELE, 999)
    subscribe(graph, notification_receiver)  # the expired one left room for this


# --- renewing --------------------------------------------------------------------------------


def test_renewing_moves_the_expiry_within_the_same_cap(graph, notification_receiver):
    created = subscribe(graph, notification_receiver, expirationDateTime=minutes_ahead(60))
    renewed = graph(
        "PATCH",
        f"/subscriptions/{created['id']}",
        json={"expirationDateTime": minutes_ahead(4000)},
    )
    assert renewed.status_code == 200, renewed.text
    assert set(renewed.json()) == SUBSCRIPTION_PROPERTIES
    assert parse(renewed.json()["expirationDateTime"]) > control.clock_now() + timedelta(days=2)
    too_far = graph(
        "PATCH",
        f"/subscriptions/{created['id']}",
        json={"expirationDateTime": minutes_ahead(5000)},
    )
    assert error_of(too_far)[:2] == (400, "ExtensionError")
    (stored,) = control.subscriptions(ADELE)
    assert stored.expires_at == parse(renewed.json()["expirationDateTime"])


def test_a_renewal_needs_an_expiry_or_a_url_and_cannot_add_a_lifecycle_url(
    graph, notification_receiver
):
    created = subscribe(graph, notification_receiver, lifecycleNotificationUrl=None)
    path = f"/subscriptions/{created['id']}"
    assert error_of(graph("PATCH", path, json={})) == (
        400,
        "InvalidRequest",
        "Subscription must contain either the 'expirationDateTime' or 'notificationUrl' "
        "property and its value.",
    )
    adding = graph(
        "PATCH", path, json={"lifecycleNotificationUrl": notification_receiver.lifecycle_url}
    )
    assert adding.status_code == 400
    assert graph("GET", path).json()["lifecycleNotificationUrl"] is None


def test_a_new_notification_url_is_validated_first(graph, notification_receiver):
    created = subscribe(graph, notification_receiver)
    path = f"/subscriptions/{created['id']}"
    refused = graph("PATCH", path, json={"notificationUrl": "http://127.0.0.1:9/gone"})
    assert error_of(refused)[:2] == (400, "ValidationError")
    moved_to = notification_receiver.base_url + "/moved"
    moved = graph("PATCH", path, json={"notificationUrl": moved_to})
    assert moved.status_code == 200
    assert moved.json()["notificationUrl"] == moved_to
    assert notification_receiver.validations[-1][0] == "/moved"


# --- reading, listing, deleting -----------------------------------------------------------


def test_get_answers_the_subscription_and_others_get_404(graph, notification_receiver):
    created = subscribe(graph, notification_receiver)
    got = graph("GET", f"/subscriptions/{created['id']}").json()
    assert {k: got[k] for k in SUBSCRIPTION_PROPERTIES - {"@odata.context"}} == {
        k: created[k] for k in SUBSCRIPTION_PROPERTIES - {"@odata.context"}
    }
    # Megan cannot see or touch Adele's subscription: it does not exist for her.
    for method in ("GET", "DELETE"):
        response = graph(method, f"/subscriptions/{created['id']}", as_=MEGAN)
        assert error_of(response) == (404, "ResourceNotFound", "The object was not found.")
    assert len(control.subscriptions(ADELE)) == 1


def test_the_list_holds_this_apps_subscriptions_for_the_user_without_client_state(
    sandbox, graph, notification_receiver
):
    mine = {subscribe(graph, notification_receiver)["id"] for _ in range(2)}
    subscribe(graph, notification_receiver, as_=MEGAN)
    control.subscriptions_fill(ADELE, 3)  # another app's, for the same user
    listed = graph("GET", "/subscriptions").json()
    assert listed["@odata.context"].endswith("/v1.0/$metadata#subscriptions")
    assert {s["id"] for s in listed["value"]} == mine
    assert all(s["clientState"] is None for s in listed["value"])


def test_the_list_is_paged_with_next_links(sandbox, graph, notification_receiver):
    control.subscriptions_fill(ADELE, 230, client_id=sandbox.client_id)
    seen, url = [], "/subscriptions"
    while url:
        page = graph("GET", url).json()
        seen += [s["id"] for s in page["value"]]
        url = page.get("@odata.nextLink")
    assert len(seen) == len(set(seen)) == 230


def test_delete_answers_204_and_then_404(graph, notification_receiver):
    created = subscribe(graph, notification_receiver)
    path = f"/subscriptions/{created['id']}"
    deleted = graph("DELETE", path)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert error_of(graph("DELETE", path)) == (404, "ResourceNotFound", "The object was not found.")
    assert graph("GET", path).status_code == 404
    assert control.subscriptions() == []


def test_reauthorize_answers_204_for_the_owner_only(graph, notification_receiver):
    created = subscribe(graph, notification_receiver)
    path = f"/subscriptions/{created['id']}/reauthorize"
    assert graph("POST", path).status_code == 204
    assert graph("POST", path, as_=MEGAN).status_code == 404
    assert graph("POST", "/subscriptions/no-such-id/reauthorize").status_code == 404


@pytest.mark.parametrize(
    "junk",
    [
        [],
        "subscription",
        {"notificationUrl": "https://[::1/x"},
        {"notificationUrl": "ftp://127.0.0.1/x"},
        {"notificationUrl": "https://" + "a" * 3000 + ".example/"},
        {"notificationUrl": ["http://127.0.0.1/x"]},
        {"lifecycleNotificationUrl": 7},
        {"expirationDateTime": "9999-12-31T23:59:59-14:00"},
        {"expirationDateTime": "0001-01-01T00:00:00+14:00"},
        {"resource": "me/calendars//events"},
        {"resource": {"path": "me/events"}},
        {"changeType": ""},
        {"changeType": ","},
        {"includeResourceData": "yes"},
        {"latestSupportedTlsVersion": "v9"},
        {"clientState": "\u0000" * 200},
    ],
)
def test_junk_is_a_4xx_and_nothing_is_stored(graph, notification_receiver, junk):
    body = subscription_body(notification_receiver, **junk) if isinstance(junk, dict) else junk
    response = graph("POST", "/subscriptions", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()
    assert control.subscriptions() == []


def test_junk_in_a_renewal_or_a_page_link_is_a_4xx(graph, notification_receiver):
    created = subscribe(graph, notification_receiver)
    path = f"/subscriptions/{created['id']}"
    for body in ([], {"expirationDateTime": "soon"}, {"notificationUrl": 5}, {"id": "x"}):
        assert graph("PATCH", path, json=body).status_code == 400, body
    for token in ("%%%", "LTU=", "bm90LWEtbnVtYmVy"):  # junk, "-5", "not-a-number"
        assert graph("GET", f"/subscriptions?$skiptoken={token}").status_code == 400, token
    assert graph("GET", path).json()["expirationDateTime"] == created["expirationDateTime"]


def test_subscriptions_need_a_valid_token(sandbox, http, notification_receiver):
    response = http.post(
        sandbox.graph_url + "/subscriptions", json=subscription_body(notification_receiver)
    )
    assert error_of(response)[:2] == (401, "InvalidAuthenticationToken")
    assert notification_receiver.validations == []
