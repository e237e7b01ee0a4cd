"""Setup → Booking pages: a host creates, edits, duplicates, disables and deletes pages."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from django.urls import reverse

from booking.models import Booking, BookingPage
from booking.services.pages import QuestionData, page_create
from calendars.models import Calendar, CalendarConnection
from tests.support.booking import editor_data
from tests.support.interleave import selects_from, write_after_query

pytestmark = pytest.mark.django_db


def test_new_page_form_has_friendly_defaults_in_the_hosts_zone(host_client, host):
    response = host_client.get(reverse("pages:create"))
    assert response.status_code == 200
    editor = response.context["editor"]
    assert editor.form["time_zone"].value() == host.time_zone
    assert editor.form["duration_minutes"].value() == 30
    assert editor.form["horizon_days"].value() == 60
    hours = [
        (f["weekday"].value(), f["start"].value()) for f in editor.hours.forms if f["start"].value()
    ]
    assert hours == [(d, time(9)) for d in range(5)]
    page = response.content.decode()
    for section in ["Basics", "Availability", "Weekly hours", "Date overrides", "Limits"]:
        assert section in page
    assert "Booking questions" in page
    assert "Name and email are always asked" in page


def test_whether_tentative_events_block_time_is_the_hosts_choice_in_the_page_form(host_client):
    shown = host_client.get(reverse("pages:create"))
    assert "Tentative events block time" in shown.content.decode()
    assert shown.context["editor"].form["block_tentative"].value() is True  # on by default

    host_client.post(reverse("pages:create"), editor_data(title="Call", block_tentative=None))
    page = BookingPage.objects.get()
    assert page.block_tentative is False
    edit = reverse("pages:edit", args=[page.pk])
    assert 'name="page-block_tentative"' in host_client.get(edit).content.decode()
    host_client.post(edit, editor_data(title="Call", slug="call"))
    page.refresh_from_db()
    assert page.block_tentative is True


def test_create_a_page_with_weekday_hours_and_see_its_link(host_client, host):
    response = host_client.post(reverse("pages:create"), editor_data(title="Intro Call!"))
    page = BookingPage.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("pages:edit", args=[page.pk])
    assert (page.host, page.slug, page.time_zone) == (host, "intro-call", "Europe/London")
    assert [(h.weekday, h.start, h.end) for h in page.weekly_hours.all()] == [
        (d, time(9), time(17)) for d in range(5)
    ]
    listing = host_client.get(reverse("pages:list")).content.decode()
    link = "http://127.0.0.1:8000/book/intro-call/"
    assert link in listing
    assert f'data-copy="{link}"' in listing
    assert "Active" in listing


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Erstgespräch", "erstgespraech"),
        ("Größe & Maße", "groesse-masse"),
        ("Café Crème", "cafe-creme"),
        ("日本語", "page"),
    ],
)
def test_a_link_made_from_a_title_spells_out_umlauts_and_drops_accents(host_client, title, slug):
    host_client.post(reverse("pages:create"), editor_data(title=title))
    assert BookingPage.objects.get().slug == slug


def test_edit_several_ranges_overrides_and_questions(host_client, host):
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    closed = date.today() + timedelta(days=10)
    special = closed + timedelta(days=1)
    data = editor_data(
        title="Call",
        slug="call",
        hours=[(0, "09:00", "12:00"), (0, "13:00", "17:00"), (5, "10:00", "00:00")],
        overrides=[
            {"date": closed.isoformat(), "closed": "on"},
            {"date": special.isoformat(), "start": "08:00", "end": "09:00"},
            {"date": "", "start": "", "end": ""},
        ],
        questions=[
            {"label": "Company", "kind": "text", "required": "on"},
            {"label": "Size", "kind": "choice", "options": "Small\nLarge\n"},
            {"label": "", "kind": "text"},
        ],
        max_per_day="3",
        buffer_after_minutes="15",
    )
    response = host_client.post(reverse("pages:edit", args=[page.pk]), data)
    assert response.status_code == 302, response.context["editor"].form.errors
    page.refresh_from_db()
    assert (page.max_per_day, page.buffer_after_minutes) == (3, 15)
    assert [(h.weekday, h.start, h.end) for h in page.weekly_hours.all()] == [
        (0, time(9), time(12)),
        (0, time(13), time(17)),
        (5, time(10), time(0)),
    ]
    assert [(o.date, o.start) for o in page.date_overrides.all()] == [
        (closed, None),
        (special, time(8)),
    ]
    assert [(q.label, q.kind, q.required, q.options) for q in page.questions.all()] == [
        ("Company", "text", True, []),
        ("Size", "choice", False, ["Small", "Large"]),
    ]
    # Editing again keeps the questions' ids (they are the answer keys of the API).
    ids = [q.pk for q in page.questions.all()]
    again = host_client.get(reverse("pages:edit", args=[page.pk]))
    assert [f["id"].value() for f in again.context["editor"].questions.forms][:2] == ids


def test_a_tampered_question_id_never_touches_another_page_nor_fails(host_client, host, teammate):
    bobs = page_create(
        host=teammate,
        fields={"title": "Bob", "slug": "bob"},
        questions=[QuestionData(label="Bob's question", kind="text")],
    )
    bobs_question = bobs.questions.get()
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    url = reverse("pages:edit", args=[page.pk])

    def post(question_id: str):
        question = {"id": question_id, "label": "Company", "kind": "text"}
        return host_client.post(url, editor_data(title="Call", slug="call", questions=[question]))

    assert post(str(2**64)).status_code == 400  # beyond any id the database can hold
    assert not page.questions.exists()
    assert post(str(bobs_question.pk)).status_code == 302
    assert page.questions.get().label == "Company"
    bobs_question.refresh_from_db()
    assert (bobs_question.page, bobs_question.label) == (bobs, "Bob's question")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hours": [(0, "17:00", "09:00")]}, "The end must be after the start."),
        ({"hours": [(0, "09:00", "")]}, "Give both a start and an end time."),
        ({"slug": "Has Spaces"}, "lowercase letters, digits and hyphens"),
        ({"slug": "admin"}, "is reserved"),
        ({"time_zone": "Mars/Base"}, "Select a valid choice"),
        ({"duration_minutes": "0"}, "greater than or equal to 5"),
        ({"title": "x" * 121}, "at most 120 characters"),
        # The title is in every booking email's subject, which cannot hold a line break.
        ({"title": "Intro\ncall"}, "one line"),
        (
            {"questions": [{"label": "Pick", "kind": "choice", "options": "one"}]},
            "at least two options",
        ),
        (
            {"overrides": [{"date": "2030-01-01", "closed": "on", "start": "09:00"}]},
            "A closed day has no hours",
        ),
        (
            {
                "overrides": [
                    {"date": "2030-01-01", "closed": "on"},
                    {"date": "2030-01-01", "start": "09:00", "end": "12:00"},
                ]
            },
            "2030-01-01 is closed all day and also has hours",
        ),
    ],
)
def test_bad_page_settings_are_refused_with_a_message(host_client, change, message):
    response = host_client.post(reverse("pages:create"), editor_data(**change))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BookingPage.objects.exists()


def test_a_refused_edit_shows_the_saved_title_and_link(host_client, host, settings):
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    url = reverse("pages:edit", args=[page.pk])
    response = host_client.post(url, editor_data(title="New title", slug="team/intro"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "lowercase letters, digits and hyphens" in text
    assert "<h1>Call</h1>" in text
    assert f'href="{settings.SITE_URL}/book/call/"' in text
    page.refresh_from_db()
    assert (page.title, page.slug) == ("Call", "call")


def test_rules_the_slot_engine_refuses_show_its_message_on_the_form(host_client):
    overlapping = [(0, "09:00", "12:00"), (0, "11:00", "13:00")]
    response = host_client.post(reverse("pages:create"), editor_data(hours=overlapping))
    assert response.status_code == 400
    assert response.context["editor"].rules_error in response.content.decode()
    assert "overlaps" in response.context["editor"].rules_error
    assert not BookingPage.objects.exists()


def test_slug_must_be_unique_across_hosts(host_client, teammate):
    page_create(host=teammate, fields={"title": "Bob", "slug": "taken"})
    response = host_client.post(reverse("pages:create"), editor_data(slug="taken"))
    assert response.status_code == 400
    assert "That link is taken" in response.content.decode()


def test_duplicate_disable_enable_and_delete(host_client, host):
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    page.questions.create(label="Company")
    response = host_client.post(reverse("pages:duplicate", args=[page.pk]))
    copy = BookingPage.objects.exclude(pk=page.pk).get()
    assert response["Location"] == reverse("pages:edit", args=[copy.pk])
    assert (copy.title, copy.slug, copy.is_active) == ("Copy of Call", "call-copy", False)
    assert copy.weekly_hours.count() == 5
    assert copy.questions.get().label == "Company"

    host_client.post(reverse("pages:toggle", args=[page.pk]))
    page.refresh_from_db()
    assert not page.is_active
    assert host_client.get(reverse("booking:page", args=["call"])).status_code == 404
    host_client.post(reverse("pages:toggle", args=[page.pk]))
    page.refresh_from_db()
    assert page.is_active

    confirm = host_client.get(reverse("pages:delete", args=[page.pk]))
    assert "Delete “Call”?" in confirm.content.decode()
    host_client.post(reverse("pages:delete", args=[page.pk]))
    assert list(BookingPage.objects.all()) == [copy]


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("pages:edit", "get"),
        ("pages:edit", "post"),
        ("pages:calendars", "get"),
        ("pages:calendars", "post"),
        ("pages:duplicate", "post"),
        ("pages:toggle", "post"),
        ("pages:delete", "get"),
        ("pages:delete", "post"),
    ],
)
def test_other_hosts_get_404_for_alices_pages(client, host, teammate, outsider, name, method):
    page = page_create(host=host, fields={"title": "Alice's", "slug": "alice"})
    for other in [teammate, outsider]:
        client.force_login(other)
        response = getattr(client, method)(reverse(name, args=[page.pk]), {})
        assert response.status_code == 404
    page.refresh_from_db()
    assert (page.title, page.is_active) == ("Alice's", True)
    assert BookingPage.objects.count() == 1
    client.force_login(teammate)
    assert "Alice&#x27;s" not in client.get(reverse("pages:list")).content.decode()


def test_associated_calendars_without_a_connection_point_to_calendar_integration(host_client, host):
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    response = host_client.get(reverse("pages:calendars", args=[page.pk]))
    text = response.content.decode()
    assert reverse("calendars:integration") in text
    assert "No calendar is connected yet" in text
    assert "shared calendars and resource" in text


def test_each_calendar_choice_is_labelled_with_its_calendar(host_client, host):
    # A screen reader tabbing through the table hears the label only: "Make main" or
    # "Retrieve busy time" alone does not say which calendar it is about.
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="a", account_email="alice@contoso.com"
    )
    for remote_id, name in [("1", "Calendar"), ("2", "Team rota")]:
        Calendar.objects.create(connection=connection, remote_id=remote_id, name=name)
    html = host_client.get(reverse("pages:calendars", args=[page.pk])).content.decode()
    labels = [
        " ".join(re.sub(r"<[^>]+>", " ", label).split())
        for label in re.findall(r"<label[^>]*>(.*?)</label>", html, flags=re.S)
        if "<input" in label
    ]
    assert len(labels) == 6
    for name in ["Calendar", "Team rota"]:
        assert len([label for label in labels if label.endswith(name)]) == 3, labels


def test_associated_calendars_main_radio_and_checkboxes(host_client, host, teammate):
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="a", account_email="alice@contoso.com"
    )
    main = Calendar.objects.create(connection=connection, remote_id="1", name="Calendar")
    team = Calendar.objects.create(connection=connection, remote_id="2", name="Team")
    other_connection = CalendarConnection.objects.create(
        host=teammate, provider="office365", account_id="b", account_email="bob@contoso.com"
    )
    bobs = Calendar.objects.create(connection=other_connection, remote_id="3", name="Bob's")
    url = reverse("pages:calendars", args=[page.pk])
    text = host_client.get(url).content.decode()
    assert "Main booking calendar" in text
    assert "Retrieve busy time" in text
    assert "Team" in text
    assert "Bob&#x27;s" not in text

    response = host_client.post(
        url, {"main_calendar": team.pk, f"busy_{main.pk}": "on", f"add_{main.pk}": "on"}
    )
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.main_calendar == team
    use = page.calendar_uses.get()
    assert (use.calendar, use.retrieve_busy, use.add_bookings) == (main, True, True)
    # Another host's calendar is not a choice.
    refused = host_client.post(url, {"main_calendar": bobs.pk})
    assert refused.status_code == 400
    page.refresh_from_db()
    assert page.main_calendar == team


def test_a_main_calendar_gone_while_saving_changes_nothing_and_says_so(host_client, host):
    """The form was read with the calendar still there; a refresh of the calendar
    list drops it before the save: no 500, the page keeps its calendar."""
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="a", account_email="alice@contoso.com"
    )
    main = Calendar.objects.create(connection=connection, remote_id="1", name="Calendar")
    team = Calendar.objects.create(connection=connection, remote_id="2", name="Team")
    page.main_calendar = main
    page.save()
    url = reverse("pages:calendars", args=[page.pk])

    def team_removed_by_a_refresh():
        Calendar.objects.filter(pk=team.pk).update(is_active=False)

    with write_after_query(selects_from("calendars_calendar"), team_removed_by_a_refresh):
        response = host_client.post(url, {"main_calendar": team.pk}, follow=True)
    assert response.status_code == 200
    assert "nothing was saved" in response.content.decode()
    page.refresh_from_db()
    assert page.main_calendar == main


def test_deleting_a_page_keeps_its_bookings(host_client, host):
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    from django.utils import timezone

    start = timezone.now() + timedelta(days=3)
    Booking.objects.create(
        page=page,
        host=host,
        title="Call",
        start=start,
        end=start + timedelta(minutes=30),
        invitee_name="Dana",
        invitee_email="dana@example.com",
        invitee_time_zone="UTC",
    )
    confirm = host_client.get(reverse("pages:delete", args=[page.pk])).content.decode()
    assert "1 upcoming booking" in confirm
    host_client.post(reverse("pages:delete", args=[page.pk]))
    assert Booking.objects.get().page is None


def test_the_main_calendars_boxes_are_ticked_disabled_and_say_why(host_client, alices_things):
    page, _connection, _links = alices_things
    text = host_client.get(f"/setup/booking-pages/{page.pk}/calendars/").text
    main_row = text.split('value="', 1)[0]  # noqa: F841 (readability)
    implied = text.count(
        '<input type="checkbox" checked disabled aria-describedby="main-implied-help">'
    )
    assert implied == 2
    assert text.count("always, as the main calendar") == 2


def test_associated_calendars_say_only_the_main_calendar_invites_the_invitee(host_client, host):
    page = page_create(host=host, fields={"title": "Call", "slug": "call"})
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="a", account_email="alice@contoso.com"
    )
    Calendar.objects.create(connection=connection, remote_id="1", name="Calendar")
    url = reverse("pages:calendars", args=[page.pk])
    text = host_client.get(url).content.decode()
    assert "The invitee is invited once, from the main booking calendar" in text
    assert "a copy for your records" in text
