"""A German reader sees no English the catalogue could have given them in German.

Every Setup page and the public pages are rendered in German; every piece of text a
person reads (text, labels, placeholders, aria labels, the words handed to scripts in
``data-*`` attributes) is looked up among the catalogue's English messages. One that
is still there in English was rendered without going through gettext (a label in a
model or form without ``gettext_lazy``, a word in a template without ``translate``).
English weekday names are checked separately: they come from the locale, not the
catalogue.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation

pytestmark = pytest.mark.django_db

READ_ATTRIBUTES = {"placeholder", "aria-label", "title", "alt"}
# Words that occur in English sentences and never in German ones: they catch a sentence
# built around a value ("Copy the link of Intro call") that no catalogue entry equals.
ENGLISH_ONLY = re.compile(r"\b(the|your|you|with|this|please|of)\b")
ZONE_ID = re.compile(r"^[A-Z][A-Za-z_-]+/[A-Za-z_ /+-]+$")
WEEKDAYS = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}


def english_messages() -> set[str]:
    """The catalogue's English messages whose German differs (a word the same in both
    languages, "Teams", proves nothing)."""
    path = Path(settings.LOCALE_PATHS[0]) / "de" / "LC_MESSAGES" / "django.po"
    with path.open("rb") as po:
        catalog = read_po(po)
    found, german = set(), set()
    for message in catalog:
        if not message.id or message.pluralizable or "%" in message.id:
            continue
        german.add(_normal(message.string))
        if message.string and message.string != message.id:
            found.add(_normal(message.id))
    # A word of both languages ("Was", "Name") may be the German reading of another.
    return found - german


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(":*").strip()


class ReadText(HTMLParser):
    """The text of a page a person reads, piece by piece."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if value and (name in READ_ATTRIBUTES or name.endswith("-label")):
                self.pieces.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.pieces.append(data)


def english_on(html: str, messages: set[str]) -> list[str]:
    reader = ReadText()
    reader.feed(html)
    left = []
    for piece in reader.pieces:
        # A page title is made of parts: "Profile · Setup · ScheduleOnce".
        for part in piece.split(" · "):
            text = _normal(part)
            if ZONE_ID.match(text):  # "Europe/Isle of Man": an identifier, not prose
                continue
            if text in messages or text in WEEKDAYS or ENGLISH_ONLY.search(text):
                left.append(text)
    return sorted(set(left))


def setup_paths(page, booking_pk, endpoint_pk, team_page_pk) -> list[str]:
    return [
        "/setup/",
        "/setup/profile/",
        "/setup/profile/api-tokens/",
        "/setup/booking-pages/",
        "/setup/booking-pages/new/",
        "/setup/booking-pages/working-hours/",
        f"/setup/booking-pages/{page.pk}/",
        f"/setup/booking-pages/{page.pk}/calendars/",
        f"/setup/booking-pages/{page.pk}/delete/",
        f"/setup/booking-pages/{team_page_pk}/",
        f"/setup/booking-pages/{team_page_pk}/calendars/",
        "/setup/meetings/",
        f"/setup/meetings/{booking_pk}/",
        f"/setup/meetings/{booking_pk}/cancel/",
        f"/setup/meetings/{booking_pk}/ask-to-reschedule/",
        "/setup/integration/calendar/",
        "/setup/integration/webhooks/",
        f"/setup/integration/webhooks/{endpoint_pk}/",
        "/setup/team/",
        "/setup/team/pages/new/",
        f"/setup/team/pages/{team_page_pk}/members/",
    ]


@pytest.fixture
def german_host(host):
    host.language = "de"
    host.save()
    return host


@pytest.fixture
def everything(german_host, alices_things):
    from accounts.services import organization_create_for
    from booking.models import Booking
    from booking.services.teams import Seat, team_page_create
    from integrations.models import WebhookEndpoint

    page, connection, _links = alices_things
    # Names a person chose are theirs, not ours to translate: make them plainly German.
    connection.calendars.update(name="Arbeit")
    booking = Booking.objects.get(page=page)
    # The booking keeps the location words of its invitee's language (an English one
    # here); a German invitee's booking reads German (the public pages' test).
    with translation.override("de"):
        Booking.objects.filter(pk=booking.pk).update(location=page.location_text)
    organization = organization_create_for(user=german_host, name="Contoso").organization
    team_page = team_page_create(
        admin=german_host,
        organization=organization,
        kind="round_robin",
        fields={"title": "Team call", "slug": "team-call", "time_zone": "Europe/London"},
        seats=[Seat(user_id=german_host.pk)],
    )
    endpoint = WebhookEndpoint.objects.create(
        owner=german_host, url="https://hooks.example.com/in", events=["booking.created"]
    )
    return setup_paths(page, booking.pk, endpoint.pk, team_page.pk)


UI_TAGS = {"label", "button", "legend", "th", "h1", "h2", "h3", "option", "a", "summary", "caption"}
# Words the same in both languages, and the fixture's own names.
SAME_IN_BOTH = {
    "Team",
    "Webhooks",
    "Integration",
    "Admin",
    "Office 365",
    "Microsoft Teams",
    "API",
    "ScheduleOnce",
    "Deutsch",
    "English",
    "Intro call",
    "Team call",
    "Company",
    "Size",
    "Phone",
    "Small",
    "Large",
    "Arbeit",
    "Contoso",
    "Alice Host",
    "Dana",
    "Start",
    "Name",
    "Link",
    "Details",
    "Status",
    "E-Mail",
    "Schedule",
    "Once",
    "UTC",
    "URL",
    "Text",
}


class UiText(HTMLParser):
    """The words of labels, buttons, headings, options and links, piece by piece."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: set[str] = set()
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in UI_TAGS:
            self._open.append(tag)

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        text = _normal(data)
        # "← Intro call", ": Arbeit": a name with punctuation.
        text = text.strip("←:() ").strip()
        if self._open and re.search(r"[A-Za-z]{3}", text) and not re.search(r"[@/0-9]", text):
            self.pieces.add(text)


def ui_text(html: str) -> set[str]:
    reader = UiText()
    reader.feed(html)
    return reader.pieces


def test_the_two_language_check_can_fail():
    english = ui_text("<label>Meeting duration</label><button>Save</button>")
    german = ui_text("<label>Meeting duration</label><button>Speichern</button>")
    assert english & german == {"Meeting duration"}


def test_setup_labels_differ_between_english_and_german(client, german_host, everything):
    """Generic: a label, button or heading that reads the same in English and German was
    not translated (whether or not the catalogue has it)."""
    client.force_login(german_host)
    found = {}
    for path in everything:
        german = ui_text(client.get(path).text)
        german_host.language = "en"
        german_host.save()
        english = ui_text(client.get(path).text)
        german_host.language = "de"
        german_host.save()
        same = sorted(english & german - SAME_IN_BOTH)
        if same:
            found[path] = same
    for path, same in found.items():
        print(path, same)
    assert found == {}


def test_the_catalogue_check_can_fail():
    messages = english_messages()
    assert english_on("<label>Von <input></label><p>Save</p>", messages) == ["Save"]
    assert english_on("<legend>Monday</legend>", messages) == ["Monday"]
    assert english_on('<input placeholder="Save">', messages) == ["Save"]
    assert english_on('<a aria-label="Copy the link of Intro">', messages) == [
        "Copy the link of Intro"
    ]


def test_setup_pages_in_german_show_no_english(client, german_host, everything):
    client.force_login(german_host)
    messages = english_messages()
    found = {}
    for path in everything:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert 'lang="de"' in answer.text, path
        left = english_on(answer.text, messages)
        if left:
            found[path] = left
    for path, left in found.items():
        print(path, left)
    assert found == {}


def test_public_pages_in_german_show_no_english(client, alices_things):
    from booking.services.bookings import Invitee, booking_create
    from booking.tokens import booking_paths
    from tests.support.booking import at, workday

    page, _connection, _english_links = alices_things
    # The booking keeps the words of the language it was made in (its location), as
    # the German booking page would have made it.
    with translation.override("de"):
        booking = booking_create(
            page=page,
            start=at(workday("Europe/Berlin"), 14),
            invitee=Invitee(
                name="Jonas", email="jonas@example.com", time_zone="Europe/Berlin", locale="de-DE"
            ),
        )
    links = booking_paths(booking)
    messages = english_messages()
    found = {}
    paths = ["/book/intro/", links["manage"], links["cancel"], links["reschedule"]]
    for path in paths:
        answer = client.get(path, headers={"accept-language": "de-DE,de;q=0.9"})
        assert answer.status_code == 200, path
        left = english_on(answer.text, messages)
        if left:
            found[path] = left
    for path, left in found.items():
        print(path, left)
    assert found == {}


def test_what_setup_says_after_an_action_is_german(client, german_host, alices_things):
    """The message shown after pressing a button in Setup (they are no page of their own,
    so the page walk above never meets them)."""
    page, _connection, _links = alices_things
    client.force_login(german_host)
    messages = english_messages()
    answers = {
        "deactivate": client.post(f"/setup/booking-pages/{page.pk}/toggle/", follow=True),
        "activate": client.post(f"/setup/booking-pages/{page.pk}/toggle/", follow=True),
        "duplicate": client.post(f"/setup/booking-pages/{page.pk}/duplicate/", follow=True),
        "delete": client.post(f"/setup/booking-pages/{page.pk}/delete/", follow=True),
        "profile": client.post(
            "/setup/profile/",
            {"name": "Alice Host", "time_zone": "Europe/Berlin", "language": "de"},
            follow=True,
        ),
    }
    said = {name: _flash(answer.text) for name, answer in answers.items()}
    assert said == {
        "deactivate": "„Intro call“ ist deaktiviert; ihr Link sagt jetzt, dass sie keine "
        "Buchungen annimmt.",
        "activate": "„Intro call“ nimmt wieder Buchungen an.",
        "duplicate": "Dupliziert als „Kopie von Intro call“. Sie ist deaktiviert, bis Sie "
        "sie aktivieren.",
        "delete": "„Intro call“ wurde gelöscht.",
        "profile": "Ihr Profil wurde gespeichert.",
    }
    for name, answer in answers.items():
        assert english_on(answer.text, messages) == [], name


def _flash(html: str) -> str:
    found = re.search(r'<p class="message [a-z]+">(.*?)</p>', html, re.S)
    assert found, "no message shown"
    return _normal(found.group(1))
