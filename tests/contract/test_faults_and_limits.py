"""Throttling, outages, slow answers and dropped connections, as Microsoft's clients meet them.

From "Microsoft Graph throttling guidance" (429 with ``Retry-After``, 503) and
"Outlook service limits" (4 concurrent requests per app and mailbox), plus the
sandbox's own controls for them and its request log.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from graph_sandbox import control
from tests.contract.conftest import ADELE, MEGAN
from tests.contract.test_graph_events import booking
from tests.support.worker import wait_until

pytestmark = [pytest.mark.slow]


def in_parallel(count: int, call) -> list:
    """Run ``call(i)`` in ``count`` threads released together; results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except requests.RequestException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_429_carries_retry_after_and_graphs_error_body(graph):
    graph("GET", "/me")  # sign in first
    control.faults_set(kinds=["429"], retry_after=7, times=1)
    throttled = graph("GET", "/me/calendars")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert graph("GET", "/me/calendars").status_code == 200  # times=1


def test_503_carries_retry_after(graph):
    graph("GET", "/me")
    control.faults_set(kinds=["503"], retry_after=3, times=1)
    response = graph("GET", "/me")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert "error" in response.json()


def test_the_token_endpoint_can_be_throttled_too(sandbox, tokens_for):
    refresh = tokens_for(ADELE)["refresh_token"]
    control.faults_set(kinds=["429"], applies_to="identity", retry_after=5, times=1)
    response = sandbox.session().post(
        sandbox.authority + "/oauth2/v2.0/token",
        data={
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh,
        },
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"


def test_a_dropped_connection_gets_no_answer_and_changes_nothing(graph):
    graph("GET", "/me")
    before = len(control.events(ADELE))
    control.faults_set(kinds=["drop"], times=1)
    with pytest.raises(requests.ConnectionError):
        graph("POST", "/me/events", json=booking())
    assert len(control.events(ADELE)) == before
    (logged,) = [c for c in control.request_log() if c.fault == "drop"]
    assert logged.status is None
    assert logged.path == "/v1.0/me/events"


def test_a_create_whose_answer_was_lost_is_not_repeated_by_its_retry(graph):
    graph("GET", "/me")
    body = booking()
    control.faults_set(kinds=["drop_after"], times=1)
    with pytest.raises(requests.ConnectionError):
        graph("POST", "/me/events", json=body)
    (made,) = [e for e in control.events(ADELE) if e.transaction_id == body["transactionId"]]
    retried = graph("POST", "/me/events", json=body)
    assert retried.status_code == 201
    assert retried.json()["id"] == made.id
    assert len([e for e in control.events(ADELE) if e.transaction_id == body["transactionId"]]) == 1


def test_a_slow_answer_outlasts_a_short_client_timeout(graph):
    graph("GET", "/me")
    control.faults_set(kinds=["slow"], slow_seconds=1.5, times=1)
    with pytest.raises(requests.Timeout):
        graph("GET", "/me", timeout=0.3)
    # The sandbox still answers (to nobody) once the time is up.
    wait_until(lambda: any(c.fault == "slow" for c in control.request_log()), timeout=10)


def test_fixed_latency_applies_to_every_call(graph):
    graph("GET", "/me")
    control.faults_set(latency_ms=250)
    started = time.monotonic()
    assert graph("GET", "/me").status_code == 200
    assert time.monotonic() - started >= 0.25
    assert control.request_log()[-1].latency_ms >= 250


def test_faults_can_target_one_mailbox(graph):
    graph("GET", "/me")
    graph("GET", "/me", as_=MEGAN)
    control.faults_set(kinds=["503"], mailbox=MEGAN)
    assert graph("GET", "/me").status_code == 200
    assert graph("GET", "/me", as_=MEGAN).status_code == 503


def test_a_seeded_fraction_fails_the_same_calls_every_time(graph):
    graph("GET", "/me")

    def pattern() -> list[int]:
        control.faults_clear()
        control.faults_set(kinds=["429"], fraction=0.5, seed=42)
        return [graph("GET", "/me").status_code for _ in range(12)]

    first = pattern()
    assert 0 < first.count(429) < 12
    assert pattern() == first


def test_a_fifth_concurrent_call_for_one_mailbox_is_throttled(graph):
    graph("GET", "/me")
    control.faults_set(latency_ms=800)
    statuses = [r.status_code for r in in_parallel(5, lambda i: graph("GET", "/me"))]
    assert sorted(statuses) == [200, 200, 200, 200, 429]
    (refused,) = [c for c in control.request_log() if c.fault == "concurrency"]
    assert refused.status == 429
    body_check = in_parallel(5, lambda i: graph("GET", "/me"))
    throttled = [r for r in body_check if r.status_code == 429]
    assert throttled[0].json()["error"] == {
        **throttled[0].json()["error"],
        "code": "ApplicationThrottled",
        "message": "Application is over its MailboxConcurrency limit.",
    }
    assert throttled[0].headers["Retry-After"]


def test_the_concurrency_limit_counts_per_mailbox_and_can_be_switched_off(graph):
    graph("GET", "/me")
    graph("GET", "/me", as_=MEGAN)
    control.faults_set(latency_ms=500)
    both = in_parallel(8, lambda i: graph("GET", "/me", as_=ADELE if i % 2 else MEGAN))
    assert [r.status_code for r in both] == [200] * 8
    control.mailbox_concurrency_set(0)
    many = in_parallel(8, lambda i: graph("GET", "/me"))
    assert [r.status_code for r in many] == [200] * 8


def test_sixteen_concurrent_writes_all_land(graph):
    graph("GET", "/me")
    graph("GET", "/me", as_=MEGAN)
    control.mailbox_concurrency_set(0)

    def create(i: int) -> requests.Response:
        who = ADELE if i % 2 else MEGAN
        return graph("POST", "/me/events", as_=who, json=booking(transactionId=str(uuid.uuid4())))

    results = in_parallel(16, create)
    assert [r.status_code for r in results] == [201] * 16, [getattr(r, "text", r) for r in results]
    made = {e.id for e in control.events(ADELE) + control.events(MEGAN)}
    assert {r.json()["id"] for r in results} <= made


def test_the_request_log_records_each_call(graph):
    graph("GET", "/me")
    mark = control.request_log()[-1].id
    graph("GET", "/me/calendars?$top=2")
    graph("GET", "/me/nothing-here")
    calls = control.request_log(after_id=mark)
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("GET", "/v1.0/me/calendars", 200),
        ("GET", "/v1.0/me/nothing-here", 400),
    ]
    assert calls[0].query == "$top=2"
    assert calls[0].mailbox == ADELE
    assert calls[0].latency_ms > 0
    assert [c.path for c in control.request_log(path_prefix="/common/")]  # the sign-in's calls


def test_answers_carry_their_length_and_keep_the_connection_open(graph, http, sandbox):
    """As Graph does: every answer says how long it is, so a client sends its next calls
    on the same connection (one TLS handshake, not one per call)."""
    graph("GET", "/me")  # signs in (through another connection pool: MSAL's session)
    pool = http.get_adapter(sandbox.graph_url).poolmanager
    pool.clear()
    answers = [
        graph("GET", "/me"),
        graph("POST", "/me/events", json=booking(subject="Kept alive")),
        graph("GET", "/me/calendars/nope"),  # an error answer too
    ]
    assert [answer.status_code for answer in answers] == [200, 201, 404]
    for answer in answers:
        assert answer.headers["Content-Length"] == str(len(answer.content))
        assert answer.headers.get("Connection", "").lower() != "close"
    (connections,) = [p.num_connections for p in pool.pools._container.values()]
    assert connections == 1
