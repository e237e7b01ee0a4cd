"""The Graph client against Microsoft's exact answers: errors, throttling and paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from calendars.providers import ProviderError
from calendars.providers.office365.graph import GraphClient, new_session, shared_session
from calendars.providers.office365.limits import MAX_RETRY_AFTER
from outbox.backoff import retry_after_seconds
from tests.support.microsoft import GRAPH, GRAPH_401, GRAPH_404, GRAPH_429, GRAPH_503

TOKEN = "eyJ0eXAiOiJKV1QiLCJub25jZSI6.eyJhdWQiOiIwMDAwMDAwMy0.secret-signature-part"


@pytest.fixture
def graph(microsoft_settings):
    sleeps: list[float] = []
    client = GraphClient(access_token=TOKEN, sleep=sleeps.append)
    client.sleeps = sleeps
    with responses.RequestsMock() as mock:
        client.mock = mock
        yield client


def test_every_call_carries_the_token_and_a_timeout(graph, monkeypatch):
    seen = {}
    original = requests.adapters.HTTPAdapter.send

    def spy(self, request, **kwargs):
        seen.update(kwargs)
        return original(self, request, **kwargs)

    # Undone inside the test: responses patches the same method and stops first.
    with monkeypatch.context() as patch:
        patch.setattr(requests.adapters.HTTPAdapter, "send", spy)
        graph.mock.get(f"{GRAPH}/me", json={"id": "1"})
        assert graph.get("/me") == {"id": "1"}
    assert graph.mock.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen["timeout"] == (5.0, 30.0)


def test_a_call_sends_what_requests_sends_with_the_same_settings(graph, monkeypatch):
    """The session's short way (``call``) sends the request ``Session.request`` sends, with
    the same timeout, CA setting, certificate and proxies (the environment's ignored)."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    session = shared_session()
    options: list[dict] = []
    original = requests.adapters.HTTPAdapter.send

    def spy(self, request, **kwargs):
        options.append(kwargs)
        return original(self, request, **kwargs)

    graph.mock.post(f"{GRAPH}/me/events", json={"id": "1"}, status=201)
    headers = {"Authorization": f"Bearer {TOKEN}", "Prefer": 'outlook.timezone="UTC"'}
    sent = {"headers": headers, "params": {"a": "b c/ü"}, "json": {"subject": "Grüße", "n": 1}}
    # Undone inside the test: responses patches the same method and stops first.
    with monkeypatch.context() as patch:
        patch.setattr(requests.adapters.HTTPAdapter, "send", spy)
        ours = session.call("POST", f"{GRAPH}/me/events", **sent)
        theirs = session.request("POST", f"{GRAPH}/me/events", **sent)
    one, other = (call.request for call in graph.mock.calls)
    assert (one.method, one.url, one.body) == (other.method, other.url, other.body)
    assert dict(one.headers) == dict(other.headers)
    assert (
        (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()) == (201, {"id": "1"})
    )
    assert options[0] == options[1]
    assert options[0]["proxies"] == {}
    assert options[0]["timeout"] == (5.0, 30.0)


def test_a_call_follows_a_redirect_as_requests_does_without_the_token_to_another_host(graph):
    graph.mock.get(f"{GRAPH}/moved", status=302, headers={"Location": "https://elsewhere.test/x"})
    graph.mock.get("https://elsewhere.test/x", json={"ok": True})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = shared_session().call("GET", f"{GRAPH}/moved", headers=headers)
    assert (answer.json(), [r.status_code for r in answer.history]) == ({"ok": True}, [302])
    assert "Authorization" not in graph.mock.calls[1].request.headers


def test_sessions_ignore_the_environment_and_trust_the_configured_bundle(settings, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings.MS_CA_BUNDLE = str(bundle)
    session = new_session()
    assert session.trust_env is False
    assert session.verify == str(bundle)
    settings.MS_CA_BUNDLE = ""
    assert new_session().verify is True


def test_one_pooled_session_per_process_and_bundle_that_keeps_no_cookies(settings, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings.MS_CA_BUNDLE = str(bundle)
    session = shared_session()
    assert shared_session() is session
    assert session.verify == str(bundle)
    settings.MS_CA_BUNDLE = ""
    assert shared_session() is not session
    assert shared_session().verify is True
    # Microsoft's routing cookie from one host's sign-in is never kept for the next call.
    request = requests.Request("GET", "https://login.example.com/common/oauth2/v2.0/token")
    cookie = requests.cookies.create_cookie("fpc", "abc", domain="login.example.com")
    policy = session.cookies.get_policy()
    assert not policy.set_ok(cookie, requests.cookies.MockRequest(request.prepare()))


def test_401_is_reported_for_a_refresh_and_retry(graph):
    graph.mock.get(f"{GRAPH}/me/calendars", status=401, json=GRAPH_401)
    with pytest.raises(ProviderError) as caught:
        graph.get("/me/calendars")
    error = caught.value
    assert (error.status, error.code, error.permanent) == (401, "InvalidAuthenticationToken", False)
    assert error.retryable
    assert TOKEN not in str(error)
    assert TOKEN[:20] not in repr(graph)


def test_a_short_retry_after_is_waited_for_in_place(graph):
    graph.mock.get(f"{GRAPH}/me", status=429, json=GRAPH_429, headers={"Retry-After": "2"})
    graph.mock.get(f"{GRAPH}/me", json={"id": "1"})
    assert graph.get("/me") == {"id": "1"}
    assert graph.sleeps == [2.0]


def test_a_long_retry_after_is_handed_back_to_the_caller(graph):
    graph.mock.get(f"{GRAPH}/me", status=429, json=GRAPH_429, headers={"Retry-After": "120"})
    with pytest.raises(ProviderError) as caught:
        graph.get("/me")
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)
    assert caught.value.code == "ApplicationThrottled"
    assert not caught.value.permanent
    assert graph.sleeps == []


def _http_date(seconds_from_now: float) -> str:
    """An RFC 9110 HTTP date (IMF-fixdate), as a front door writes Retry-After."""
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


def test_a_retry_after_given_as_an_http_date_is_the_time_until_that_date(graph):
    graph.mock.get(
        f"{GRAPH}/me", status=503, json=GRAPH_503, headers={"Retry-After": _http_date(6)}
    )
    graph.mock.get(f"{GRAPH}/me", json={"id": "1"})
    assert graph.get("/me") == {"id": "1"}
    [waited] = graph.sleeps
    assert 3.0 < waited <= 6.0  # whole seconds in the date; a little time passes


def test_a_retry_after_date_far_off_is_handed_back_capped_and_a_past_one_is_no_wait(graph):
    far = _http_date(3 * 24 * 3600)
    graph.mock.get(f"{GRAPH}/me", status=429, json=GRAPH_429, headers={"Retry-After": far})
    with pytest.raises(ProviderError) as caught:
        graph.get("/me")
    assert caught.value.retry_after == MAX_RETRY_AFTER == 3600.0
    graph.mock.get(
        f"{GRAPH}/me", status=429, json=GRAPH_429, headers={"Retry-After": _http_date(-60)}
    )
    graph.mock.get(f"{GRAPH}/me", json={"id": "1"})
    assert graph.get("/me") == {"id": "1"}
    assert graph.sleeps == [0.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("99999999999999999999", 3600.0),  # never years, never a datetime overflow
        ("Sun, 06 Dec 2026 18:00:30 GMT", 30.0),
        ("Sunday, 06-Dec-26 18:01:00 GMT", 60.0),  # RFC 850, obsolete but allowed
        ("Sun Dec  6 18:00:10 2026", 10.0),  # asctime
        ("Sun, 06 Dec 2026 17:59:00 GMT", 0.0),  # already past: no wait, not negative
        ("inf", None),
        ("nan", None),
        ("-5", None),
        ("1e3", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date_bounded(header, expected):
    now = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    assert retry_after_seconds(header, limit=MAX_RETRY_AFTER, now=now) == expected


def test_repeated_throttling_gives_up_after_a_bounded_number_of_tries(graph):
    for _ in range(3):
        graph.mock.get(f"{GRAPH}/me", status=503, json=GRAPH_503, headers={"Retry-After": "1"})
    with pytest.raises(ProviderError) as caught:
        graph.get("/me")
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
        503,
        "ServiceUnavailable",
        1.0,
    )
    assert graph.sleeps == [1.0, 1.0]


@pytest.mark.parametrize(
    ("status", "body"),
    [(429, GRAPH_429), (503, GRAPH_503), (504, {"error": {"code": "GatewayTimeout"}})],
)
def test_throttling_without_retry_after_is_temporary_and_left_to_the_callers_backoff(
    graph, status, body
):
    # Microsoft: "If no Retry-After header is provided by the response, we recommend
    # implementing an exponential backoff retry policy" (the caller's retry_delay).
    graph.mock.get(f"{GRAPH}/me", status=status, json=body)
    with pytest.raises(ProviderError) as caught:
        graph.get("/me")
    assert caught.value.retryable
    assert caught.value.retry_after is None
    assert graph.sleeps == []


def test_a_dropped_connection_or_timeout_is_temporary(graph):
    graph.mock.get(f"{GRAPH}/me", body=requests.ConnectionError("reset by peer"))
    graph.mock.get(f"{GRAPH}/me/calendars", body=requests.ReadTimeout("slow"))
    with pytest.raises(ProviderError) as dropped:
        graph.get("/me")
    with pytest.raises(ProviderError) as slow:
        graph.get("/me/calendars")
    assert (dropped.value.code, slow.value.code) == ("ConnectionError", "Timeout")
    assert dropped.value.retryable
    assert slow.value.retryable


def test_a_missing_item_is_not_worth_retrying(graph):
    graph.mock.patch(f"{GRAPH}/me/events/AAMk1", status=404, json=GRAPH_404)
    with pytest.raises(ProviderError) as caught:
        graph.patch("/me/events/AAMk1", json={"subject": "x"})
    assert (caught.value.status, caught.value.code) == (404, "ErrorItemNotFound")
    assert not caught.value.retryable


def test_delete_of_a_missing_item_counts_as_done(graph):
    graph.mock.delete(f"{GRAPH}/me/events/AAMk1", status=404, json=GRAPH_404)
    graph.delete("/me/events/AAMk1", missing_ok=True)


def test_paging_follows_next_links(graph):
    graph.mock.get(
        f"{GRAPH}/me/calendars",
        json={"value": [{"id": "a"}], "@odata.nextLink": f"{GRAPH}/me/calendars?$skip=1"},
    )
    graph.mock.get(f"{GRAPH}/me/calendars?$skip=1", json={"value": [{"id": "b"}]})
    assert [item["id"] for item in graph.items("/me/calendars")] == ["a", "b"]


def test_a_next_link_to_another_host_never_receives_the_token(graph):
    graph.mock.get(
        f"{GRAPH}/me/calendars",
        json={"value": [], "@odata.nextLink": "https://evil.example.com/steal?$skip=1"},
    )
    with pytest.raises(ProviderError) as caught:
        list(graph.items("/me/calendars"))
    assert caught.value.code == "UnexpectedLink"
    assert len(graph.mock.calls) == 1


@pytest.mark.parametrize(
    "link",
    [
        "https://graph.microsoft.com:443/v1.0/me/calendars?$skip=1",
        "HTTPS://Graph.Microsoft.com/v1.0/me/calendars?$skip=1",
    ],
)
def test_a_next_link_naming_the_same_host_another_way_is_followed(graph, link):
    # RFC 3986: scheme and host compare in any case, and the default port may be written.
    graph.mock.get(f"{GRAPH}/me/calendars", json={"value": [{"id": "a"}], "@odata.nextLink": link})
    graph.mock.get(f"{GRAPH}/me/calendars?$skip=1", json={"value": [{"id": "b"}]})
    assert [item["id"] for item in graph.items("/me/calendars")] == ["a", "b"]


def test_a_relative_next_link_is_read_against_the_page_it_came_on(graph):
    # OData's JSON format lets a payload's URLs be relative to the request's URL.
    graph.mock.get(
        f"{GRAPH}/me/calendars",
        json={"value": [{"id": "a"}], "@odata.nextLink": "/v1.0/me/calendars?$skip=1"},
    )
    graph.mock.get(
        f"{GRAPH}/me/calendars?$skip=1",
        json={"value": [{"id": "b"}], "@odata.nextLink": "calendars?$skip=2"},
    )
    graph.mock.get(f"{GRAPH}/me/calendars?$skip=2", json={"value": [{"id": "c"}]})
    assert [item["id"] for item in graph.items("/me/calendars")] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "link",
    [
        "https://graph.microsoft.com:8443/v1.0/me/calendars?$skip=1",
        "http://graph.microsoft.com/v1.0/me/calendars?$skip=1",
        "https://graph.microsoft.com.evil.example/v1.0/me/calendars",
        "https://graph.microsoft.com:x/v1.0/me/calendars",
    ],
)
def test_a_next_link_to_another_port_or_scheme_is_refused(graph, link):
    graph.mock.get(f"{GRAPH}/me/calendars", json={"value": [], "@odata.nextLink": link})
    with pytest.raises(ProviderError) as caught:
        list(graph.items("/me/calendars"))
    assert caught.value.code == "UnexpectedLink"
    assert len(graph.mock.calls) == 1


def test_every_call_sends_a_client_request_id_and_a_refusal_logs_both_ids(graph, caplog):
    # Graph's answers carry request-id (header, and innerError), which Microsoft's support
    # asks for with the client-request-id the app sent and the time.
    graph.mock.get(
        f"{GRAPH}/me/events/AAMk",
        status=404,
        json=GRAPH_404,
        headers={"request-id": "e5f6a7b8-0000-4c1d-9e2f-0123456789ab", "Date": "Mon, 02 Mar 2026"},
    )
    graph.mock.get(f"{GRAPH}/me", json={"id": "me"})
    caplog.set_level("INFO", logger="calendars.providers.office365.graph")

    graph.get("/me")
    with pytest.raises(ProviderError):
        graph.get("/me/events/AAMk")

    first, refused = (call.request.headers["client-request-id"] for call in graph.mock.calls)
    assert first != refused
    [line] = [r.getMessage() for r in caplog.records if "answered 404" in r.getMessage()]
    assert line == (
        "Graph GET /v1.0/me/events/AAMk answered 404 ErrorItemNotFound (request-id "
        f"e5f6a7b8-0000-4c1d-9e2f-0123456789ab, client-request-id {refused}, "
        "date Mon, 02 Mar 2026)"
    )
    assert TOKEN not in caplog.text


def test_error_messages_leave_out_query_strings(graph):
    link = f"{GRAPH}/me/calendarView/delta?$deltatoken=R0usmcMDNGg0J1E"
    graph.mock.get(link, status=410, json={"error": {"code": "SyncStateNotFound", "message": "x"}})
    with pytest.raises(ProviderError) as caught:
        graph.get(link)
    assert caught.value.status == 410
    assert "R0usmcMDNGg0J1E" not in str(caught.value)
