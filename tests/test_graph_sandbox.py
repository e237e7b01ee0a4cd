"""The Graph sandbox as an operator and a demo see it: settings, store, seeding, the people page."""

from __future__ import annotations

import ast
import contextlib
import itertools
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.db import connections

from graph_sandbox import control, demo
from graph_sandbox.graph.events import event_insert
from graph_sandbox.models import Calendar, CalendarAccess, Event, Mailbox
from graph_sandbox.router import GraphSandboxRouter
from graph_sandbox.seed import ensure_demo_tenant
from tests.support.subproc import ROOT, clean_env, manage

BOTH = ["default", "graph_sandbox"]
ADELE = demo.ADELE.address
SHOW = (
    "from django.conf import settings; import json; print(json.dumps({k: getattr(settings, k) "
    "for k in ('GRAPH_SANDBOX', 'MS_CLIENT_ID', 'MS_CLIENT_SECRET', 'MS_AUTHORITY', "
    "'MS_GRAPH_URL', 'MS_CA_BUNDLE')}))"
)


def settings_in(env: dict[str, str]) -> dict:
    done = manage("shell", "-c", SHOW, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_local_settings_point_the_product_at_the_sandbox(tmp_path):
    seen = settings_in(clean_env(DEBUG="1", VAR_DIR=str(tmp_path), GRAPH_SANDBOX_PORT="9443"))
    assert seen == {
        "GRAPH_SANDBOX": True,
        "MS_CLIENT_ID": demo.DEMO_CLIENT_ID,
        "MS_CLIENT_SECRET": demo.DEMO_CLIENT_SECRET,
        "MS_AUTHORITY": "https://localhost:9443/common",
        "MS_GRAPH_URL": "https://localhost:9443/v1.0",
        "MS_CA_BUNDLE": str(tmp_path / "graph_sandbox" / "ca.pem"),
    }


def test_explicit_microsoft_settings_win_over_the_sandbox_defaults(tmp_path):
    env = clean_env(
        DEBUG="1",
        VAR_DIR=str(tmp_path),
        GRAPH_SANDBOX="1",
        MS_CLIENT_ID="my-app",
        MS_CLIENT_SECRET="my-secret",
        MS_AUTHORITY="https://login.example/tenant",
        MS_CA_BUNDLE="/etc/company-ca.pem",
    )
    seen = settings_in(env)
    assert seen["MS_CLIENT_ID"] == "my-app"
    assert seen["MS_AUTHORITY"] == "https://login.example/tenant"
    assert seen["MS_CA_BUNDLE"] == "/etc/company-ca.pem"
    assert seen["MS_GRAPH_URL"].endswith(":8443/v1.0")


def test_no_product_module_imports_the_sandbox():
    offenders = []
    for package in ("accounts", "booking", "calendars", "ops", "scheduleonce"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                if any(name.split(".")[0] == "graph_sandbox" for name in names):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_router_keeps_sandbox_tables_apart():
    router = GraphSandboxRouter()
    assert router.allow_migrate("graph_sandbox", "graph_sandbox") is True
    assert router.allow_migrate("default", "graph_sandbox") is False
    assert router.allow_migrate("graph_sandbox", "accounts") is False
    assert router.allow_migrate("default", "accounts") is None
    assert router.db_for_write(Mailbox) == "graph_sandbox"


@pytest.mark.django_db(databases=BOTH)
def test_each_database_holds_only_its_own_tables():
    product_tables = connections["default"].introspection.table_names()
    sandbox_tables = connections["graph_sandbox"].introspection.table_names()
    assert not [t for t in product_tables if t.startswith("graph_sandbox_")]
    assert "graph_sandbox_event" in sandbox_tables
    assert set(sandbox_tables) - {"django_migrations"} == {
        t for t in sandbox_tables if t.startswith("graph_sandbox_")
    }


@pytest.mark.django_db(databases=BOTH)
def test_the_change_sequence_counts_up_from_a_store_without_its_settings_row():
    from graph_sandbox import store
    from graph_sandbox.models import SandboxState

    SandboxState.objects.all().delete()
    with store.writing():
        numbers = [store.next_change_seq() for _ in range(3)]
    assert numbers[1:] == [numbers[0] + 1, numbers[0] + 2]
    assert SandboxState.objects.get(pk=1).change_seq == numbers[-1]


@pytest.mark.django_db(databases=BOTH)
def test_seeding_is_idempotent_and_gives_each_person_four_kinds_of_calendar():
    first = ensure_demo_tenant()
    counts = (Mailbox.objects.count(), CalendarAccess.objects.count(), Event.objects.count())
    second = ensure_demo_tenant()
    assert first.created is True
    assert second.created is False
    assert (
        Mailbox.objects.count(),
        CalendarAccess.objects.count(),
        Event.objects.count(),
    ) == counts
    for person in demo.PEOPLE:
        rows = CalendarAccess.objects.filter(mailbox__address=person.address).select_related(
            "calendar__owner"
        )
        kinds = sorted(
            (a.calendar.owner.kind, a.calendar.owner.address == person.address, a.can_edit)
            for a in rows
        )
        assert kinds == [
            ("room", False, False),
            ("user", False, True),
            ("user", True, True),
            ("user", True, True),
        ]
    assert Event.objects.filter(show_as="busy").count() >= 3


@pytest.mark.django_db(databases=BOTH)
def test_seed_demo_prints_the_sandbox_sign_in():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert f"{ADELE}, {demo.MEGAN.address} / {demo.DEMO_PASSWORD}" in out.getvalue()


# --- the people page -------------------------------------------------------------------------


@pytest.fixture
def seeded(db):
    ensure_demo_tenant()


pages_db = pytest.mark.django_db(databases=BOTH)


@pages_db
def test_the_people_page_lists_mailboxes(client, seeded):
    page = client.get("/graph-sandbox/")
    assert page.status_code == 200
    for name in ("Adele Vance", "Megan Bowen", "Conference Room Rainier"):
        assert name in page.content.decode()


@pages_db
def test_a_booking_shows_with_its_time_attendees_and_reminder(client, seeded):
    calendar = Calendar.objects.get(owner__address=ADELE, is_default=True)
    start = datetime(2030, 1, 7, 10, tzinfo=UTC)
    event_insert(
        calendar=calendar,
        subject="Intro call with Charlie",
        start=start,
        end=start + timedelta(minutes=30),
        attendees=[
            {
                "type": "required",
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": "Charlie", "address": "charlie@example.com"},
            }
        ],
        reminder_minutes=60,
        transaction_id="tx-1",
    )
    page = client.get(f"/graph-sandbox/mailboxes/{ADELE}/?start=2030-01-07&days=1").content.decode()
    assert "Intro call with Charlie" in page
    assert "Mon 7 Jan, 10:00\u201310:30" in page  # Europe/London is UTC in January
    assert "Charlie &lt;charlie@example.com&gt;" in page
    assert "Reminder 1 hour before" in page


@pages_db
def test_a_person_adds_and_removes_busy_time_through_forms_with_csrf(seeded):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/graph-sandbox/mailboxes/{ADELE}/")
    token = page.cookies["csrftoken"].value
    calendar = Calendar.objects.get(owner__address=ADELE, name="Personal")
    form = {
        "calendar": calendar.pk,
        "subject": "Doctor",
        "date": "2030-02-01",
        "start_time": "15:00",
        "end_time": "16:00",
        "show_as": "oof",
    }
    assert browser.post(f"/graph-sandbox/mailboxes/{ADELE}/events/", form).status_code == 403
    added = browser.post(
        f"/graph-sandbox/mailboxes/{ADELE}/events/", {**form, "csrfmiddlewaretoken": token}
    )
    assert added.status_code == 302
    (event,) = [e for e in control.events(ADELE) if e.subject == "Doctor"]
    assert (event.calendar, event.show_as) == ("Personal", "oof")
    assert event.start == datetime(2030, 2, 1, 15, tzinfo=UTC)

    backwards = browser.post(
        f"/graph-sandbox/mailboxes/{ADELE}/events/",
        {**form, "end_time": "14:00", "csrfmiddlewaretoken": token},
    )
    assert backwards.status_code == 400
    assert "must end after it starts" in backwards.content.decode()

    removed = browser.post(
        f"/graph-sandbox/mailboxes/{ADELE}/events/{event.id}/delete/",
        {"csrfmiddlewaretoken": token},
    )
    assert removed.status_code == 302
    assert "Doctor" not in [e.subject for e in control.events(ADELE)]


@pages_db
def test_the_demo_tenant_has_a_weekly_series_away_from_the_next_two_weekdays(seeded):
    from zoneinfo import ZoneInfo

    from graph_sandbox.clock import sandbox_now

    london = ZoneInfo("Europe/London")
    (master,) = [e for e in control.events(ADELE) if e.subject == "Weekly team sync"]
    now = sandbox_now()
    weeks = control.occurrences(ADELE, master.id, start=now, end=now + timedelta(days=120))
    assert len(weeks) == 12
    days = [w["start"].astimezone(london).date() for w in weeks]
    assert [(b - a).days for a, b in itertools.pairwise(days)] == [7] * 11
    assert {w["start"].astimezone(london).strftime("%H:%M") for w in weeks} == {"16:00"}
    today = now.astimezone(london).date()
    first = weeks[0]["start"].astimezone(london).date()
    assert 3 <= (first - today).days <= 7
    assert first.weekday() < 5


@pages_db
def test_a_person_adds_a_weekly_busy_block_and_removes_one_week_then_the_series(seeded):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(f"/graph-sandbox/mailboxes/{ADELE}/")
    token = page.cookies["csrftoken"].value
    calendar = Calendar.objects.get(owner__address=ADELE, name="Calendar")
    added = browser.post(
        f"/graph-sandbox/mailboxes/{ADELE}/events/",
        {
            "calendar": calendar.pk,
            "subject": "Stand-up",
            "date": "2030-01-07",  # a Monday
            "start_time": "09:00",
            "end_time": "09:15",
            "show_as": "busy",
            "repeat_weekly": "on",
            "csrfmiddlewaretoken": token,
        },
    )
    assert added.status_code == 302
    (master,) = [e for e in control.events(ADELE) if e.subject == "Stand-up"]
    window = {"start": datetime(2030, 1, 1, tzinfo=UTC), "end": datetime(2030, 2, 1, tzinfo=UTC)}
    weeks = control.occurrences(ADELE, master.id, **window)
    assert [o["start"].day for o in weeks] == [7, 14, 21, 28]
    assert {o["type"] for o in weeks} == {"occurrence"}

    page = browser.get(f"/graph-sandbox/mailboxes/{ADELE}/?start=2030-01-07&days=14")
    text = page.content.decode()
    assert "Mon 7 Jan, 09:00\u201309:15" in text
    assert "Mon 14 Jan, 09:00\u201309:15" in text
    assert text.count("Part of a recurring series") == 2

    one = browser.post(
        f"/graph-sandbox/mailboxes/{ADELE}/events/{weeks[1]['id']}/delete/",
        {"csrfmiddlewaretoken": token},
    )
    assert one.status_code == 302
    assert [o["start"].day for o in control.occurrences(ADELE, master.id, **window)] == [7, 21, 28]

    whole = browser.post(
        f"/graph-sandbox/mailboxes/{ADELE}/events/{weeks[2]['id']}/delete/",
        {"series": "1", "csrfmiddlewaretoken": token},
    )
    assert whole.status_code == 302
    assert "Stand-up" not in [e.subject for e in control.events(ADELE)]
    page = browser.get(f"/graph-sandbox/mailboxes/{ADELE}/?start=2030-01-07&days=14")
    assert "Stand-up" not in page.content.decode()


@pages_db
def test_bad_addresses_and_windows_are_4xx(client, seeded):
    assert client.get("/graph-sandbox/mailboxes/nobody@contoso.example/").status_code == 404
    assert client.get(f"/graph-sandbox/mailboxes/{ADELE}/?start=soon&days=1").status_code == 400
    assert (
        client.get(f"/graph-sandbox/mailboxes/{ADELE}/?start=2030-01-01&days=999").status_code
        == 400
    )
    assert client.get(f"/graph-sandbox/mailboxes/{ADELE}/events/").status_code == 405
    # Dates at the ends of the calendar would overflow a datetime: a 400, not a 500.
    for start in ["9999-12-31", "0001-01-01"]:
        url = f"/graph-sandbox/mailboxes/{ADELE}/?start={start}&days=30"
        assert client.get(url).status_code == 400
    calendar = Calendar.objects.get(owner__address=ADELE, name="Personal")
    form = {"calendar": calendar.pk, "subject": "Busy", "show_as": "busy"}
    for day, start, end in [("9999-12-31", "23:00", "00:00"), ("0001-01-01", "00:00", "01:00")]:
        response = client.post(
            f"/graph-sandbox/mailboxes/{ADELE}/events/",
            {**form, "date": day, "start_time": start, "end_time": end},
        )
        assert response.status_code == 400


# --- the TLS server ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_tls_authorize_path_sends_browsers_to_the_pages(graph_sandbox_server):
    sandbox = graph_sandbox_server
    response = sandbox.session().get(
        sandbox.authority + "/oauth2/v2.0/authorize?client_id=x", allow_redirects=False
    )
    assert response.status_code == 302
    assert response.headers["Location"] == (
        sandbox.pages_url + "/graph-sandbox/common/oauth2/v2.0/authorize?client_id=x"
    )


@pytest.mark.slow
def test_a_client_that_does_not_trust_the_ca_is_refused_and_the_server_carries_on(
    graph_sandbox_server,
):
    sandbox = graph_sandbox_server
    plain = requests.Session()
    plain.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(sandbox.graph_url + "/me")
    assert sandbox.session().get(sandbox.graph_url + "/me").status_code == 401


@pytest.mark.slow
def test_the_pages_follow_the_url_a_test_sets(graph_sandbox_server):
    sandbox = graph_sandbox_server
    sandbox.set_pages_url("http://testserver.example:1234/")
    config = sandbox.session().get(sandbox.authority + "/v2.0/.well-known/openid-configuration")
    assert config.json()["authorization_endpoint"] == (
        "http://testserver.example:1234/graph-sandbox/common/oauth2/v2.0/authorize"
    )


@pytest.mark.slow
def test_a_kept_alive_client_is_served_on_one_store_connection(graph_sandbox_server):
    """Each call reads and writes the store (fault rules, request log); a client's calls on
    one kept-alive connection share one store connection, closed when the client goes."""
    from tests.support.worker import wait_until

    sandbox = graph_sandbox_server
    with _store_connections_opened() as opened:
        session = sandbox.session()
        discovery = sandbox.authority + "/v2.0/.well-known/openid-configuration"
        for _ in range(3):
            assert session.get(discovery).status_code == 200
        assert len(opened) == 1
        session.close()
        wait_until(lambda: opened[0].connection is None, timeout=10)
        assert sandbox.session().get(discovery).status_code == 200  # another client
        assert len(opened) == 2


def test_with_debug_on_the_store_keeps_no_log_of_the_calls_statements(
    graph_sandbox_server, settings
):
    """Local runs and the benches have ``DEBUG`` on. The sandbox's store connection does
    not keep (or, on SQLite, quote with one more query each) the statements of every
    call, as Django's debug cursor would: they are Microsoft's side, not the product's.
    Asked for (``force_debug_cursor``, as ``CaptureQueriesContext`` asks), it still does."""
    settings.DEBUG = True
    sandbox = graph_sandbox_server
    with _store_connections_opened() as opened:
        session = sandbox.session()
        discovery = sandbox.authority + "/v2.0/.well-known/openid-configuration"
        for _ in range(3):
            assert session.get(discovery).status_code == 200
        assert len(opened) == 1
        store = opened[0]
        assert len(store.queries_log) == 0
        store.force_debug_cursor = True
        assert session.get(discovery).status_code == 200
        assert len(store.queries_log) > 0
        session.close()


@contextlib.contextmanager
def _store_connections_opened():
    """The sandbox store connections its servers' client threads open meanwhile (not its
    delivery thread's)."""
    from django.db.backends.signals import connection_created

    opened = []

    def note(sender, connection, **kwargs) -> None:
        if connection.alias == "graph_sandbox" and "process_request" in (
            threading.current_thread().name
        ):
            opened.append(connection)

    connection_created.connect(note)
    try:
        yield opened
    finally:
        connection_created.disconnect(note)


WORKER_SCRIPT = """
import os, msal, requests
from django.conf import settings
session = requests.Session()
session.trust_env = False
session.verify = settings.MS_CA_BUNDLE
app = msal.ConfidentialClientApplication(
    settings.MS_CLIENT_ID, client_credential=settings.MS_CLIENT_SECRET,
    authority=settings.MS_AUTHORITY, validate_authority=False, instance_discovery=False,
    http_client=session)
result = app.acquire_token_by_refresh_token(os.environ["SANDBOX_TEST_RT"], ["User.Read"])
me = session.get(settings.MS_GRAPH_URL + "/me",
                 headers={"Authorization": "Bearer " + result["access_token"]})
print(me.status_code, me.json()["mail"], "graph_sandbox" in settings.INSTALLED_APPS)
"""


@pytest.mark.slow
def test_a_product_process_reaches_the_sandbox_with_worker_env(graph_sandbox_server):
    """What a Celery worker started with ``worker_env()`` sees: Microsoft, over HTTPS."""
    import os

    from tests.support.worker import database_url_for_subprocess

    sandbox = graph_sandbox_server
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=sandbox.callback_url(), response_mode="form_post"
    )
    tokens = app.acquire_token_by_auth_code_flow(
        flow, sandbox.sign_in(flow["auth_uri"], address=ADELE).fields
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        **sandbox.worker_env(),
        "SANDBOX_TEST_RT": tokens["refresh_token"],
    }
    done = manage("shell", "-c", WORKER_SCRIPT, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"200 {ADELE} False"


@pytest.mark.slow
def test_a_graph_call_neither_maps_every_header_nor_converts_its_statements_again(
    graph_sandbox_server, monkeypatch
):
    """The sandbox's CPU stands for Microsoft's on a bench machine. A call reads the headers
    it needs by their WSGI names (Django's ``request.headers`` maps every name in ``META``,
    the process environment included), and its store statements' placeholders are
    converted for SQLite once per process. Its answer is Graph's as before: the client's
    ``client-request-id`` echoed, ``Prefer: outlook.timezone`` applied."""
    from django.db.backends.sqlite3 import base as sqlite3_base
    from django.http import request as http_request

    sandbox = graph_sandbox_server
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        ["Calendars.ReadWrite"], redirect_uri=sandbox.callback_url(), response_mode="form_post"
    )
    tokens = app.acquire_token_by_auth_code_flow(
        flow, sandbox.sign_in(flow["auth_uri"], address=ADELE).fields
    )
    session = sandbox.session()

    def create(number: int) -> requests.Response:
        body = {
            "subject": f"Call {number}",
            "start": {"dateTime": "2030-02-01T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-02-01T09:30:00", "timeZone": "UTC"},
            "transactionId": f"headers-test-{number}",
        }
        headers = {
            "Authorization": "Bearer " + tokens["access_token"],
            "Prefer": 'outlook.timezone="Europe/Berlin"',
            "client-request-id": f"00000000-0000-4000-8000-00000000000{number}",
        }
        return session.post(sandbox.graph_url + "/me/events", json=body, headers=headers)

    assert create(0).status_code == 201  # the first call of each statement converts it
    mapped: list[int] = []
    converted: list[int] = []
    real_init = http_request.HttpHeaders.__init__

    def mapping(self, environ):
        mapped.append(1)
        real_init(self, environ)

    class Counted:
        def __init__(self, pattern) -> None:
            self.pattern = pattern

        def sub(self, *args):
            converted.append(1)
            return self.pattern.sub(*args)

    monkeypatch.setattr(http_request.HttpHeaders, "__init__", mapping)
    monkeypatch.setattr(
        sqlite3_base, "FORMAT_QMARK_REGEX", Counted(sqlite3_base.FORMAT_QMARK_REGEX)
    )
    answer = create(1)
    assert answer.status_code == 201, answer.text
    assert mapped == []
    assert connections["graph_sandbox"].vendor == "sqlite"
    assert converted == []
    assert answer.headers["client-request-id"] == "00000000-0000-4000-8000-000000000001"
    assert answer.headers["Preference-Applied"] == 'outlook.timezone="Europe/Berlin"'
    assert answer.json()["start"] == {
        "dateTime": "2030-02-01T10:00:00.0000000",
        "timeZone": "Europe/Berlin",
    }


@pytest.mark.slow
def test_an_event_create_commits_once_with_its_log_line(graph_sandbox_server, monkeypatch):
    """Creating an event and logging the call are one transaction on the store: one
    commit, before the answer leaves. What is logged and kept is as before: a repeated
    transactionId with another body is refused (400, nothing made, the call logged), and
    a create whose connection is dropped after it was made keeps the event and logs the
    fault."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    sandbox = graph_sandbox_server
    app = sandbox.msal_app()
    flow = app.initiate_auth_code_flow(
        ["Calendars.ReadWrite"], redirect_uri=sandbox.callback_url(), response_mode="form_post"
    )
    tokens = app.acquire_token_by_auth_code_flow(
        flow, sandbox.sign_in(flow["auth_uri"], address=ADELE).fields
    )
    session = sandbox.session()
    headers = {"Authorization": "Bearer " + tokens["access_token"]}

    def create(subject: str, transaction_id: str) -> requests.Response:
        body = {
            "subject": subject,
            "start": {"dateTime": "2030-02-01T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-02-01T09:30:00", "timeZone": "UTC"},
            "transactionId": transaction_id,
        }
        return session.post(sandbox.graph_url + "/me/events", json=body, headers=headers)

    def last_call() -> tuple:
        call = control.request_log(path_prefix="/v1.0/me/events")[-1]
        return call.method, call.status, call.fault

    assert create("Warm", "commit-test-0").status_code == 201
    commits: list[int] = []
    real_commit = DatabaseWrapper.commit

    def counted(self) -> None:
        if self.alias == "graph_sandbox" and "process_request" in threading.current_thread().name:
            commits.append(1)
        real_commit(self)

    monkeypatch.setattr(DatabaseWrapper, "commit", counted)
    answer = create("Call 1", "commit-test-1")
    assert answer.status_code == 201, answer.text
    assert commits == [1]
    assert Event.objects.filter(subject="Call 1").count() == 1
    assert last_call() == ("POST", 201, "")

    commits.clear()
    assert create("Another body", "commit-test-1").status_code == 400
    assert commits == [1]  # the log line; the refused create wrote nothing
    assert not Event.objects.filter(subject="Another body").exists()
    assert last_call() == ("POST", 400, "")

    control.faults_set(kinds=["drop_after"], times=1)
    with pytest.raises(requests.ConnectionError):
        create("Dropped", "commit-test-2")
    assert Event.objects.filter(subject="Dropped").count() == 1
    assert last_call() == ("POST", None, "drop_after")
