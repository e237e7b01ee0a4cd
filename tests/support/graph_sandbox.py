"""The Graph sandbox for tests: a live Microsoft stand-in the product reaches over HTTPS.

A pytest plugin (``tests/conftest.py`` imports its fixtures and hook). Use the
``graph_sandbox_server`` fixture; everything else here serves it.

- The identity and Graph endpoints run on a TLS server in a thread of the pytest
  process (started once per session, on a free port), on the test database of
  the ``graph_sandbox`` alias. The sign-in pages run on a second, plain-http
  server (or on ``live_server`` after ``set_pages_url``).
- A test that uses the fixture (directly or through another fixture) is marked
  ``django_db(transaction=True, databases=["default", "graph_sandbox"])``
  automatically: the servers' threads and worker processes must see committed
  data. Its own ``django_db`` marker, if any, keeps its other options.
- Each test starts with a freshly seeded demo tenant and with the product's
  ``MS_AUTHORITY``, ``MS_GRAPH_URL``, ``MS_CA_BUNDLE``, ``MS_CLIENT_ID`` and
  ``MS_CLIENT_SECRET`` settings pointing at the sandbox.
- Turn the sandbox's knobs with ``graph_sandbox.control`` (faults, clock, events,
  revocation, request log, subscriptions and deliveries).
- Change notifications are POSTed by the sandbox's delivery thread, which runs
  only while a test uses the sandbox; ``notification_receiver`` plays the app's
  webhook endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import msal
import pytest
import requests
from django.conf import settings as django_settings
from django.db import connections

from graph_sandbox import demo
from graph_sandbox.tls import ensure_tls_files
from tests.support.htmlforms import forms_of
from tests.support.notification_receiver import Receiver, start_receiver

# graph_sandbox.control and .server import models, so they are imported once Django
# is set up (this module is imported by tests/conftest.py before that).

FIXTURE = "graph_sandbox_server"
SANDBOX_DATABASES = ("default", "graph_sandbox")


@dataclass
class AuthResponse:
    """What the sandbox sent back to the app's redirect URI after sign-in."""

    redirect_uri: str
    fields: dict[str, str]  # code, state, client_info, session_state, or error, …


@dataclass
class GraphSandbox:
    """A running sandbox, as the ``graph_sandbox_server`` fixture hands it to a test.

    ``authority``/``graph_url``/``ca_bundle``/``client_id``/``client_secret`` are what
    the product is configured with for the test. ``pages_url`` serves the sign-in
    pages (``http://127.0.0.1:<port>``; change it with ``set_pages_url``).
    """

    base_url: str  # https://localhost:<port>
    authority: str  # <base_url>/common
    graph_url: str  # <base_url>/v1.0
    ca_bundle: str
    pages_url: str
    client_id: str = demo.DEMO_CLIENT_ID
    client_secret: str = demo.DEMO_CLIENT_SECRET
    password: str = demo.DEMO_PASSWORD
    users: tuple[str, ...] = tuple(p.address for p in demo.PEOPLE)
    _sessions: list[requests.Session] = field(default_factory=list, repr=False)

    def worker_env(self) -> dict[str, str]:
        """Environment for a product process (e.g. ``worker_factory(**env)``) to use the sandbox.

        The process does not install the sandbox itself; it only talks to it, like
        to Microsoft.
        """
        return {
            "MS_AUTHORITY": self.authority,
            "MS_GRAPH_URL": self.graph_url,
            "MS_CA_BUNDLE": self.ca_bundle,
            "MS_CLIENT_ID": self.client_id,
            "MS_CLIENT_SECRET": self.client_secret,
            "GRAPH_SANDBOX": "0",
        }

    def set_pages_url(self, url: str) -> None:
        """Serve the sign-in pages from ``url``, e.g. ``live_server.url`` in browser tests."""
        from graph_sandbox import control

        self.pages_url = url.rstrip("/")
        control.pages_url_set(self.pages_url)
        # Setup's Connect forms lead there: the product's Content-Security-Policy allows
        # it (the fixture's settings override is active, and ends with the test).
        django_settings.MS_SIGN_IN_ORIGINS = self.sign_in_origins()

    def sign_in_origins(self) -> list[str]:
        """Where the browser signs in: the authority, and the sign-in pages' server."""
        return [self.base_url, self.pages_url]

    def callback_url(self, base: str = "http://127.0.0.1:8000") -> str:
        """The product's Office 365 callback on ``base``: registered for the demo app."""
        return base.rstrip("/") + demo.CALLBACK_PATH

    def session(self) -> requests.Session:
        """A ``requests`` session that trusts the sandbox's CA and ignores the environment."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle
        self._sessions.append(session)
        return session

    def msal_app(self, **kwargs) -> msal.ConfidentialClientApplication:
        """A real MSAL confidential client for the demo app, built as the product builds it."""
        options = {
            "client_credential": self.client_secret,
            "authority": self.authority,
            "validate_authority": False,
            "instance_discovery": False,
            "http_client": self.session(),
        }
        options.update(kwargs)
        return msal.ConfidentialClientApplication(self.client_id, **options)

    def sign_in(
        self,
        auth_uri: str,
        *,
        address: str,
        password: str | None = None,
        consent: bool = True,
    ) -> AuthResponse:
        """Do what a person does in the browser: pick the mailbox, type the password, consent.

        Returns what the sandbox sends to the redirect URI (``form_post`` fields, or
        the query of a redirect). Raises ``AssertionError`` when a page refuses.
        """
        browser = requests.Session()
        browser.trust_env = False
        page = browser.get(auth_uri, allow_redirects=False)
        page = _submit(
            browser,
            page,
            step="signin",
            values={"address": address, "password": password or self.password},
        )
        if _step(page) == "signin":
            raise AssertionError(f"sign-in refused for {address}")
        if _step(page) == "consent":
            decision = "accept" if consent else "decline"
            page = _submit(browser, page, step="consent", values={"decision": decision})
        browser.close()
        return _auth_response(page)

    def close(self) -> None:
        for session in self._sessions:
            session.close()


@dataclass
class _Listeners:
    api: object  # graph_sandbox.server.SandboxServer
    pages: object
    ca_bundle: str
    delivery: object  # graph_sandbox.subscriptions.delivery.DeliveryThread


@pytest.fixture(scope="session")
def _graph_sandbox_listeners(django_db_setup, django_db_blocker):
    """The TLS and pages servers, once per session (they read whichever test DB is set up)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler

    from graph_sandbox.server import ApiHandler, PagesHandler, SandboxServer, start_in_thread
    from graph_sandbox.subscriptions.delivery import DeliveryThread

    files = ensure_tls_files(django_settings.GRAPH_SANDBOX_TLS_DIR)
    api = SandboxServer(("127.0.0.1", 0), ApiHandler(), tls=files, quiet=True)
    # Static files as live_server serves them (its pages' script and styles).
    pages = SandboxServer(("127.0.0.1", 0), StaticFilesHandler(PagesHandler()), quiet=True)
    for server in (api, pages):
        start_in_thread(server)
    # Notifications go out from the sandbox's process, while a test uses the sandbox.
    delivery = DeliveryThread(active=False).start()
    yield _Listeners(api=api, pages=pages, ca_bundle=str(files.ca_cert), delivery=delivery)
    delivery.stop()
    for server in (api, pages):
        server.shutdown()
        server.server_close()


@pytest.fixture
def graph_sandbox_server(_graph_sandbox_listeners, settings) -> GraphSandbox:
    """A freshly seeded Graph sandbox, and the product's settings pointing at it.

    Returns a ``GraphSandbox``: ``.authority``, ``.graph_url``, ``.ca_bundle``,
    ``.client_id``/``.client_secret`` (the demo app), ``.password`` (of the demo
    users ``.users``), ``.worker_env()`` for product subprocesses such as Celery
    workers, ``.set_pages_url(url)`` for browser tests on ``live_server``,
    ``.sign_in(auth_uri, address=…)`` to complete the sign-in pages over HTTP,
    ``.msal_app()`` and ``.session()``. The test is run with
    ``django_db(transaction=True, databases=["default", "graph_sandbox"])``.
    """
    from graph_sandbox import control

    _require_sandbox_database()
    listeners = _graph_sandbox_listeners
    base = f"https://localhost:{listeners.api.port}"
    sandbox = GraphSandbox(
        base_url=base,
        authority=f"{base}/common",
        graph_url=f"{base}/v1.0",
        ca_bundle=listeners.ca_bundle,
        pages_url=f"http://127.0.0.1:{listeners.pages.port}",
    )
    control.reset()
    control.seed_demo()
    control.pages_url_set(sandbox.pages_url)
    settings.MS_AUTHORITY = sandbox.authority
    settings.MS_GRAPH_URL = sandbox.graph_url
    settings.MS_CA_BUNDLE = sandbox.ca_bundle
    settings.MS_CLIENT_ID = sandbox.client_id
    settings.MS_CLIENT_SECRET = sandbox.client_secret
    settings.MS_SIGN_IN_ORIGINS = sandbox.sign_in_origins()
    listeners.delivery.activate()
    yield sandbox
    listeners.delivery.deactivate()
    sandbox.close()


@pytest.fixture
def notification_receiver() -> Receiver:
    """An app's webhook endpoint on ``http://127.0.0.1:<port>`` (``/notifications``,
    ``/lifecycle``): answers validation requests and records notifications.
    See ``tests.support.notification_receiver``."""
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test that uses the sandbox the databases and transactions it needs."""
    for item in items:
        if FIXTURE not in getattr(item, "fixturenames", ()):
            continue
        marker = item.get_closest_marker("django_db")
        kwargs = dict(marker.kwargs) if marker else {}
        databases = kwargs.get("databases") or ["default"]
        if databases != "__all__":
            kwargs["databases"] = list(dict.fromkeys([*SANDBOX_DATABASES, *databases]))
        kwargs["transaction"] = True
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


def _require_sandbox_database() -> None:
    """Never let a test touch the real sandbox store of ``make run``."""
    db = connections["graph_sandbox"].settings_dict
    test_name = str(db.get("TEST", {}).get("NAME") or "")
    name = str(db["NAME"])
    if (name != test_name) if test_name else not Path(name).name.startswith("test_"):
        pytest.fail(
            "the graph_sandbox test database is not set up: use the graph_sandbox_server "
            "fixture as a fixture argument (not through request.getfixturevalue)"
        )


def _step(page: requests.Response) -> str:
    for form in forms_of(page.text):
        if "step" in form.fields:
            return form.fields["step"]
    return ""


def _submit(
    browser: requests.Session, page: requests.Response, *, step: str, values: dict[str, str]
) -> requests.Response:
    if page.status_code != 200 or _step(page) != step:
        raise AssertionError(f"expected the {step} page, got {page.status_code}: {page.text[:500]}")
    form = next(f for f in forms_of(page.text) if f.fields.get("step") == step)
    data = {**form.fields, **values}
    return browser.post(
        urljoin(page.url, form.action or page.url), data=data, allow_redirects=False
    )


def _auth_response(page: requests.Response) -> AuthResponse:
    if page.status_code in (301, 302, 303):
        location = page.headers["Location"]
        parts = urlsplit(location)
        fields = dict(parse_qsl(parts.query or parts.fragment))
        return AuthResponse(location.split("?")[0].split("#")[0], fields)
    posts = [f for f in forms_of(page.text) if f.method == "post" and "step" not in f.fields]
    if page.status_code != 200 or not posts:
        raise AssertionError(f"no answer for the app: {page.status_code}: {page.text[:500]}")
    return AuthResponse(posts[0].action, posts[0].fields)
