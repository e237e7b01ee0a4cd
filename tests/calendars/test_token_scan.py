"""After the whole flow, no token the sandbox issued is anywhere in plain text.

The sandbox keeps the SHA-256 of every access token, refresh token and
authorization code it issued. We take every token-shaped string from every
text column of every table of the product's database, from the captured log
records and from the console handler's output, hash each, and look for those
hashes. A positive control shows the scan does find tokens where they are
(in the decrypted token cache).
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection as db
from django.urls import reverse

from calendars import crypto
from calendars.models import CalendarConnection
from calendars.providers import ProviderError
from calendars.services.calendar_refresh import calendar_list_refresh
from calendars.services.tokens import access_token_for
from tests.calendars.test_office365_sandbox import ADELE, connect

pytestmark = pytest.mark.slow

TOKENISH = re.compile(r"[A-Za-z0-9._~+/=-]{16,}")


def issued_hashes() -> set[str]:
    from graph_sandbox.models import AccessToken, AuthorizationCode, RefreshToken

    hashes = set(AccessToken.objects.values_list("token_hash", flat=True))
    hashes |= set(RefreshToken.objects.values_list("token_hash", flat=True))
    hashes |= set(AuthorizationCode.objects.values_list("code_hash", flat=True))
    return hashes


def leaked(text: str, hashes: set[str]) -> set[str]:
    found = set()
    for candidate in TOKENISH.findall(text):
        # A token may sit inside a longer run (e.g. "access_token=…"); try the parts too.
        for piece in {candidate, *re.split(r"[=+/]", candidate)}:
            if hashlib.sha256(piece.encode()).hexdigest() in hashes:
                found.add(piece[:12] + "…")
    return found


def database_text() -> str:
    chunks = []
    with db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                chunks.extend(str(value) for value in row if isinstance(value, str | bytes))
    return "\n".join(chunks)


def _admin_pages(connection: CalendarConnection) -> str:
    """The connection and its calendars as an operator sees them in the admin."""
    from django.test import Client

    from accounts.models import User

    operator = Client(HTTP_HOST="127.0.0.1:8000")
    operator.force_login(User.objects.create_superuser("ops@example.com", "ops-password-1"))
    urls = [
        reverse("admin:calendars_calendarconnection_change", args=[connection.pk]),
        reverse("admin:calendars_calendarconnection_changelist"),
        reverse("admin:calendars_calendar_change", args=[connection.calendars.first().pk]),
    ]
    responses = [operator.get(url) for url in urls]
    assert [r.status_code for r in responses] == [200, 200, 200]
    return "\n".join(r.content.decode() for r in responses)


@pytest.fixture
def browser(client, host):
    client.defaults["HTTP_HOST"] = "127.0.0.1:8000"
    client.force_login(host)
    return client


def test_no_issued_token_is_stored_or_logged_in_plain_text(
    browser, graph_sandbox_server, caplog, capfd, django_capture_on_commit_callbacks
):
    from graph_sandbox import control

    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        connect(browser, graph_sandbox_server)
        connection = CalendarConnection.objects.get()
        calendar_list_refresh(connection=connection)
        access_token_for(connection=connection, force_refresh=True)
        browser.post(reverse("calendars:reminder", args=[connection.pk]), {"reminder": "30"})
        pages = [browser.get(reverse("calendars:integration")).content.decode()]
        pages.append(_admin_pages(connection))
        positive = crypto.decrypt(CalendarConnection.objects.get().token_cache)
        # Keep-alive, then revocation and expiry paths.
        control.clock_advance(timedelta(days=31))
        access_token_for(connection=connection, force_refresh=True)
        control.grants_revoke(ADELE)
        with pytest.raises(ProviderError):
            access_token_for(connection=connection, force_refresh=True)
        connect(browser, graph_sandbox_server, reconnect="1")
        browser.post(reverse("calendars:disconnect", args=[connection.pk]))

    hashes = issued_hashes()
    assert len(hashes) >= 8  # codes, access and refresh tokens of all the above
    assert leaked(positive, hashes), "the scan must find tokens where they really are"

    assert leaked(database_text(), hashes) == set()
    assert leaked("\n".join(pages), hashes) == set()
    console = capfd.readouterr()
    logs = "\n".join([caplog.text, console.out, console.err])
    assert "connected office365 account" in logs  # the logs were captured
    assert leaked(logs, hashes) == set()
    assert leaked("\n".join(m.body + m.subject for m in mail.outbox), hashes) == set()
