"""What Team says about its members and its organization, in English and German."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from booking.models import BookingPage
from booking.services.pages import page_create
from tests.teams.conftest import make_team_page

pytestmark = pytest.mark.django_db


def _row_text(answer, email: str) -> str:
    html = answer.content.decode()
    row = re.search(rf'<tr data-member="{re.escape(email)}">(.*?)</tr>', html, re.S).group(1)
    pages = re.search(r'data-testid="member-pages">(.*?)</td>', row, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", pages.replace("<br>", " ")).split())


def test_a_members_booking_pages_include_the_team_pages_they_are_on(client, org, host, teammate):
    # Bob has no page of his own but takes meetings on two team pages: Team said "none".
    _organization, carol = org
    page_create(host=host, fields={"title": "Intro call", "slug": "intro"})
    make_team_page(
        org=org, admin=host, kind="round_robin", users=[host, teammate], slug="rota", title="Rota"
    )
    closed = make_team_page(
        org=org, admin=host, kind="collective", users=[teammate], slug="panel", title="Panel"
    )
    BookingPage.objects.filter(pk=closed.pk).update(is_active=False)
    client.force_login(host)

    answer = client.get("/setup/team/")
    assert _row_text(answer, host.email) == "Own: Intro call Team: Rota"
    assert _row_text(answer, teammate.email) == "Team: Panel (disabled), Rota"
    assert _row_text(answer, carol.email) == "none"

    answer = client.get("/setup/team/", HTTP_ACCEPT_LANGUAGE="de")
    assert _row_text(answer, host.email) == "Eigene: Intro call Team: Rota"
    assert _row_text(answer, carol.email) == "keine"


# Every sentence that names an organization, with what it is handed.
ORGANIZATION_SENTENCES = [
    (
        "%(name)s: its people, how their calendar connections are doing, and your team "
        "booking pages.",
        {"name"},
    ),
    ("All of %(name)s", {"name"}),
    ("Everyone in %(name)s (as long as I am an admin there)", {"name"}),
    ("Join %(name)s", {"name"}),
    ("Join %(organization)s on ScheduleOnce", {"organization"}),
    ("%(inviter)s invites you to join %(organization)s on ScheduleOnce.", {"organization"}),
    ("You are invited to join %(organization)s on ScheduleOnce.", {"organization"}),
    ("Welcome to %(organization)s! Connect your own calendar to start.", {"organization"}),
    ("You are already a member of %(organization)s.", {"organization"}),
    (
        "You are an admin of %(organization)s, which has other members, and an account can "
        "be in one organization only. Make someone else an admin there and ask them to "
        "remove you, then open this link again.",
        {"organization"},
    ),
    (
        "Your account belongs to %(organization)s, which has other members, and an account "
        "can be in one organization only. Ask an admin there to remove you, then open this "
        "link again.",
        {"organization"},
    ),
    (
        "You are the only member of %(old)s. When you join %(name)s, your booking pages, "
        "bookings, calendar connection, webhooks and API tokens come with you, and %(old)s "
        "is closed.",
        {"old", "name"},
    ),
]


@pytest.mark.parametrize(("sentence", "names"), ORGANIZATION_SENTENCES)
def test_german_sentences_read_naturally_with_a_default_organization_name(sentence, names):
    # A new organization is "Organisation von Hanna Neu": dropped into a sentence after a
    # preposition it read "Die Personen von Organisation von Hanna Neu", "Willkommen bei
    # Organisation von …", "Mitglied von Organisation von …". The name now stands on its
    # own: quoted („…“), in brackets or before a colon.
    name = "Organisation von Hanna Neu"
    with translation.override("de"):
        german = _(sentence)
    assert german != sentence, "translated"
    text = german % ({key: name for key in names} | {"inviter": "Ida"})
    assert "von Organisation von" not in text
    for found in re.finditer(re.escape(name), text):
        before = text[: found.start()]
        assert before == "" or before[-1] in "„(", f"{text!r}: the name runs into the sentence"
