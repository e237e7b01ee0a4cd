"""`make run` gets Graph change notifications from the sandbox: busy time in seconds, locally.

The demo host connects Adele's mailbox the way a person does (over HTTP: Setup's
Connect, the sandbox's sign-in and consent pages, the callback); the worker's first
sync subscribes (the sandbox validates ``http://127.0.0.1:<port>/webhooks/…``); busy
time added on the sandbox's mailbox page leaves the demo page's slots within seconds,
long before beat's 5-minute poll.
"""

from __future__ import annotations

import signal
import time
from datetime import date, timedelta
from types import SimpleNamespace
from urllib.parse import urljoin

import pytest
import requests

from tests.support.graph_sandbox import GraphSandbox
from tests.support.htmlforms import forms_of
from tests.support.worker import wait_until
from tests.test_run_command import _answers, _start_run

pytestmark = [pytest.mark.slow]

ADELE = "adele@contoso.example"


def _csrf_post(session: requests.Session, page_url: str, url: str, data: dict, **kwargs):
    session.get(page_url)
    return session.post(
        url,
        data={**data, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": page_url},
        **kwargs,
    )


def _demo_slots(session: requests.Session, base: str, day: date) -> list[str]:
    answer = session.get(
        f"{base}/api/booking-pages/demo/slots",
        params={"start": day.isoformat(), "end": day.isoformat(), "tz": "Europe/London"},
        timeout=10,
    )
    answer.raise_for_status()
    return [slot["start"] for slot in answer.json()["slots"]]


def test_make_run_gets_change_notifications_from_the_sandbox(tmp_path):
    # `manage.py run` gives its processes one cache (a file cache under VAR_DIR): the
    # slots API's availability cache learns of a worker's busy-time change through it.
    proc, lines, port, _sandbox_port = _start_run(tmp_path, CALENDAR_NOTIFICATIONS="1")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base + "/healthz"), timeout=120, message="".join(lines))
        wait_until(lambda: any("ready." in line for line in lines), timeout=60)
        session = requests.Session()
        session.trust_env = False
        login = base + "/accounts/login/"
        _csrf_post(
            session, login, login, {"username": "demo@example.com", "password": "demo-password"}
        )

        lobby = base + "/setup/integration/calendar/"
        started = _csrf_post(
            session, lobby, base + "/setup/integration/calendar/office365/connect/", {},
            allow_redirects=False,
        )  # fmt: skip
        assert started.status_code == 302, started.text[:500]
        answer = GraphSandbox.sign_in(
            SimpleNamespace(password="sandbox-password"), started.headers["Location"], address=ADELE
        )
        landed = session.post(answer.redirect_uri, data=answer.fields, allow_redirects=False)
        assert landed.status_code == 302, landed.text[:500]

        # The worker's first sync subscribes; Setup says so.
        wait_until(
            lambda: "Live updates are on" in session.get(lobby).text,
            timeout=60,
            message="".join(lines[-60:]),
        )

        day = date.today() + timedelta(days=2)
        while not _demo_slots(session, base, day):
            day += timedelta(days=1)
        wanted = _demo_slots(session, base, day)[4]  # e.g. 11:00 London
        mailbox = f"{base}/graph-sandbox/mailboxes/{ADELE}/"
        form = next(f for f in forms_of(session.get(mailbox).text) if "subject" in f.fields)
        fields = {
            **form.fields,
            "calendar": form.selects["calendar"][0],
            "subject": "Physio",
            "date": day.isoformat(),
            "start_time": wanted[11:16],
            "end_time": f"{int(wanted[11:13]) + 1:02d}{wanted[13:16]}",
            "show_as": "busy",
        }
        added = session.post(
            urljoin(mailbox, form.action), data=fields, headers={"Referer": mailbox}
        )
        assert added.status_code == 200, added.text[:500]
        clicked = time.monotonic()

        wait_until(
            lambda: wanted not in _demo_slots(session, base, day),
            timeout=5,
            interval=0.1,
            message="".join(lines[-60:]),
        )
        print(f"withdrawn {time.monotonic() - clicked:.2f}s after the event was added")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
