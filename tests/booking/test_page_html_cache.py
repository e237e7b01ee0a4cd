"""The booking page's HTML, rendered once and served again, is never staler than the page.

Every test reads the page as a visitor, changes something the way a host (or the
product) does, and reads it again: the second answer must show the change. A served
body costs one query; a visitor with our cookies is always rendered afresh.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking import page_html_cache
from booking.availability_cache import availability_changed
from booking.services.pages import QuestionData, page_update
from booking.services.teams import member_pages_close

URL = "/book/alice-intro/"


@pytest.fixture(autouse=True)
def _cache_on(settings):
    """The page cache needs a cache shared by every process; the tests' local one stands in."""
    settings.AVAILABILITY_CACHE = "on"
    page_html_cache.forget_all()
    yield
    page_html_cache.forget_all()


def _get(client, url=URL, language=""):
    headers = {"Accept-Language": language} if language else {}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    return response, len(queries)


def _edit(page, **fields):
    page_update(
        page=page,
        fields=fields,
        hours=[(row.weekday, row.start, row.end) for row in page.weekly_hours.all()],
        overrides=[],
        questions=[QuestionData(label=q.label, kind=q.kind) for q in page.questions.all()],
    )


def test_a_second_visitor_gets_the_same_page_for_one_query(client, page):
    first, _ = _get(client)
    second, queries = _get(client)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert queries == 1
    assert b"Intro call" in second.content


def test_the_served_page_carries_what_a_rendered_one_does_and_no_cookie(client, page):
    rendered, _ = _get(client)
    served, _ = _get(client)
    for response in (rendered, served):
        assert "Set-Cookie" not in response.headers
        assert b"csrfmiddlewaretoken" not in response.content
        assert "Cookie" in response.headers["Vary"]
        assert "Accept-Language" in response.headers["Vary"]
        assert "frame-ancestors *" in response.headers["Content-Security-Policy"]


def test_an_edit_of_the_page_shows_at_once(client, page):
    _get(client)
    _edit(page, title="Quick chat", embed_origins="https://www.example.com")
    response, _ = _get(client)
    assert b"Quick chat" in response.content
    assert b"Intro call" not in response.content
    assert "frame-ancestors https://www.example.com" in response.headers["Content-Security-Policy"]


def test_a_new_question_shows_at_once(client, page):
    _get(client)
    page_update(
        page=page,
        fields={},
        hours=[(row.weekday, row.start, row.end) for row in page.weekly_hours.all()],
        overrides=[],
        questions=[QuestionData(label="What should we talk about?", kind="text")],
    )
    response, _ = _get(client)
    assert b"What should we talk about?" in response.content


def test_the_hosts_new_name_shows_at_once(client, page, host):
    _get(client)
    host.name = "Alice Renamed"
    host.save(update_fields=["name"])
    response, _ = _get(client)
    assert b"Alice Renamed" in response.content
    assert b"Alice Host" not in response.content


def test_a_page_closed_without_an_edit_answers_404_at_once(client, page, host):
    """``member_pages_close`` updates rows in bulk: no ``updated_at``, no signals."""
    from accounts.models import Membership, Organization

    _get(client)
    organization = Organization.objects.create(name="Contoso")
    membership = Membership.objects.create(organization=organization, user=host)
    member_pages_close(membership=membership)
    response, _ = _get(client)
    assert response.status_code == 404


def test_a_new_version_of_the_hosts_availability_renders_again(
    client, page, host, django_capture_on_commit_callbacks
):
    _get(client)
    with django_capture_on_commit_callbacks(execute=True):  # the version moves on commit
        availability_changed(host_id=host.pk)
    _, queries = _get(client)
    assert queries > 1


def test_each_language_locale_and_embed_gets_its_own_page(client, page):
    english, _ = _get(client)
    german, _ = _get(client, language="de-DE")
    chosen, _ = _get(client, URL + "?lang=de")
    british, _ = _get(client, language="en-GB")
    embedded, _ = _get(client, URL + "?embed=1")
    assert b'lang="en"' in english.content
    assert b'"locale": "en-US"' in english.content
    assert b'lang="de"' in german.content
    assert b'"locale": "de-DE"' in german.content
    assert b'lang="de"' in chosen.content
    assert b'"locale": "en-GB"' in british.content
    assert b'class="topbar"' in english.content
    assert b'class="topbar"' not in embedded.content
    again, _ = _get(client)
    assert again.content == english.content


def test_a_host_with_a_message_waiting_sees_it_on_their_page(client, page, host):
    """Disabling and enabling the page leaves "taking bookings again" for the next page."""
    _get(client)
    client.force_login(host)
    client.post(f"/setup/booking-pages/{page.pk}/toggle/")
    client.post(f"/setup/booking-pages/{page.pk}/toggle/")
    response, _ = _get(client)
    assert b"is taking bookings again" in response.content
    client.logout()
    visitor, _ = _get(client)
    assert b"is taking bookings again" not in visitor.content


def test_without_a_shared_cache_every_page_is_rendered(client, page, settings):
    settings.AVAILABILITY_CACHE = "off"
    _get(client)
    _, queries = _get(client)
    assert queries > 1
