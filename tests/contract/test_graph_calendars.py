"""``/me`` and ``/me/calendars``, and the errors every Graph call shares.

From Microsoft Graph v1.0: "Get user", "List calendars", the calendar resource
type, and "Microsoft Graph error responses and resource types".
"""

from __future__ import annotations

import pytest

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN, ROOM

pytestmark = [pytest.mark.slow]

CALENDAR_FIELDS = {
    "id",
    "name",
    "color",
    "hexColor",
    "changeKey",
    "canShare",
    "canViewPrivateItems",
    "canEdit",
    "isDefaultCalendar",
    "isRemovable",
    "allowedOnlineMeetingProviders",
    "defaultOnlineMeetingProvider",
    "owner",
}


def assert_graph_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["innerError"]["date"]
    assert error["innerError"]["request-id"] == response.headers["request-id"]
    return error


def test_me_is_the_signed_in_user(graph):
    response = graph("GET", "/me")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    me = response.json()
    assert me["userPrincipalName"] == ADELE
    assert me["mail"] == ADELE
    assert me["displayName"] == "Adele Vance"
    assert me["id"] == str(control.mailbox(ADELE).object_id)
    assert me["@odata.context"].endswith("$metadata#users/$entity")


def test_me_with_select_returns_only_those_properties(graph):
    me = graph("GET", "/me?$select=displayName,mail").json()
    assert {k for k in me if not k.startswith("@")} == {"displayName", "mail", "id"}


def test_the_calendar_list_has_owned_shared_and_room_calendars(graph):
    response = graph("GET", "/me/calendars")
    assert response.status_code == 200
    calendars = {c["name"]: c for c in response.json()["value"]}
    for calendar in calendars.values():
        assert set(calendar) >= CALENDAR_FIELDS
        assert set(calendar["owner"]) == {"name", "address"}

    default = calendars["Calendar"]
    assert default["isDefaultCalendar"] is True
    assert default["owner"]["address"] == ADELE
    assert default["canEdit"] is True
    assert default["canShare"] is True

    second = calendars["Personal"]
    assert second["isDefaultCalendar"] is False
    assert second["owner"]["address"] == ADELE

    shared = calendars["Megan Bowen"]
    assert shared["owner"] == {"name": "Megan Bowen", "address": MEGAN}
    assert shared["canShare"] is False
    assert shared["isDefaultCalendar"] is False

    room = calendars["Conference Room Rainier"]
    assert room["owner"]["address"] == ROOM
    assert room["canEdit"] is False
    assert room["canShare"] is False

    owned = [c for c in calendars.values() if c["owner"]["address"] == ADELE]
    assert sorted(c["name"] for c in owned) == ["Calendar", "Personal"]


def test_a_personal_account_owns_its_calendars_as_its_outlook_alias(graph):
    # A personal Microsoft account signed in with another provider's address: Graph names
    # its calendars' owner by the account's outlook.com alias, not the sign-in address.
    alias = "outlook_5f3a9c21d0b4e7a1@outlook.com"
    control.mailbox_calendar_owner_set(ADELE, alias)

    calendars = {c["name"]: c for c in graph("GET", "/me/calendars").json()["value"]}

    assert calendars["Calendar"]["owner"] == {"name": "Adele Vance", "address": alias}
    assert calendars["Personal"]["owner"]["address"] == alias
    assert calendars["Megan Bowen"]["owner"]["address"] == MEGAN  # the sharer, as before
    assert graph("GET", "/me").json()["mail"] == ADELE  # the sign-in address stays


def test_calendar_ids_differ_between_mailboxes(graph):
    adele = {c["id"] for c in graph("GET", "/me/calendars").json()["value"]}
    megan = {c["id"] for c in graph("GET", "/me/calendars", as_=MEGAN).json()["value"]}
    assert not adele & megan


def test_the_calendar_list_pages_with_top_and_next_link(graph):
    first = graph("GET", "/me/calendars?$top=3").json()
    assert len(first["value"]) == 3
    second = graph("GET", first["@odata.nextLink"]).json()
    assert len(second["value"]) == 1
    assert "@odata.nextLink" not in second
    names = [c["name"] for c in first["value"] + second["value"]]
    assert len(set(names)) == 4


def test_select_of_a_property_calendars_do_not_have_is_400(graph):
    error = assert_graph_error(
        graph("GET", "/me/calendars?$select=name,owner,isShared"), 400, "RequestBroker--ParseUri"
    )
    assert error["message"] == (
        "Could not find a property named 'isShared' on type 'Microsoft.OutlookServices.Calendar'."
    )
    assert graph("GET", "/me/calendar?$select=name,isRemovable").status_code == 200


def test_one_calendar_and_the_default_calendar(graph):
    listed = {c["name"]: c for c in graph("GET", "/me/calendars").json()["value"]}
    one = graph("GET", f"/me/calendars/{listed['Personal']['id']}").json()
    assert one["name"] == "Personal"
    default = graph("GET", "/me/calendar").json()
    assert default["id"] == listed["Calendar"]["id"]


def test_an_unknown_calendar_is_not_found(graph):
    assert_graph_error(graph("GET", "/me/calendars/AAMkAGI2nope="), 404, "ErrorItemNotFound")


def test_a_missing_token_is_401_with_graphs_error_body(sandbox, http):
    response = http.get(sandbox.graph_url + "/me")
    error = assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert error["message"] == "Access token is empty."
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_made_up_token_is_401(sandbox, http):
    for token in ("nonsense", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.c2ln"):
        response = http.get(sandbox.graph_url + "/me", headers={"Authorization": f"Bearer {token}"})
        assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_a_revoked_grant_stops_access_tokens_at_once(graph):
    assert graph("GET", "/me").status_code == 200
    control.grants_revoke(ADELE)
    assert_graph_error(graph("GET", "/me"), 401, "InvalidAuthenticationToken")


def test_a_token_without_calendar_permission_is_403(sandbox, http, tokens_for):
    access = tokens_for(ADELE, scopes=["User.Read"])["access_token"]
    response = http.get(
        sandbox.graph_url + "/me/calendars", headers={"Authorization": f"Bearer {access}"}
    )
    assert_graph_error(response, 403, "ErrorAccessDenied")


def test_an_unknown_path_is_400_bad_request(graph):
    error = assert_graph_error(graph("GET", "/me/calendarz"), 400, "BadRequest")
    assert "calendarz" in error["message"]


def test_the_client_request_id_is_echoed(graph):
    response = graph("GET", "/me", headers={"client-request-id": "my-id-1"})
    assert response.headers["client-request-id"] == "my-id-1"
    assert response.headers["request-id"]
