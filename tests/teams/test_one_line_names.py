"""An organization's name and a team page's title are one line: they go into email
subjects (the invitation's "Join <organization> on ScheduleOnce", every booking email of
a team page), and a subject with a line break is never sent (Django refuses the header),
so each of those emails would be lost. Refused in the form, with the stored value kept."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Organization
from booking.models import BookingPage

pytestmark = pytest.mark.django_db

BROKEN = "Contoso\r\nBcc: eve@example.com"


def test_an_organization_name_with_a_line_break_is_refused(
    client, org, host, django_capture_on_commit_callbacks
):
    organization, _ = org
    client.force_login(host)
    answer = client.post(reverse("team:organization"), {"name": BROKEN})
    assert answer.status_code == 400
    assert "one line" in answer.content.decode()
    assert Organization.objects.get(pk=organization.pk).name == "Contoso"

    # The invitation email still goes out, with the name as it was.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("team:invite"), {"email": "new@example.com", "role": "member"})
    assert [message.subject for message in mail.outbox] == ["Join Contoso on ScheduleOnce"]


def test_a_team_page_title_with_a_line_break_is_refused(client, org, host, teammate):
    _, carol = org
    client.force_login(host)
    answer = client.post(
        reverse("team:page_create"),
        {
            "title": "Sales\nBcc: eve@example.com",
            "slug": "sales",
            "kind": "round_robin",
            "duration_minutes": 30,
            f"member_{teammate.pk}": "on",
            f"priority_{teammate.pk}": 0,
            f"weight_{teammate.pk}": 1,
            f"priority_{carol.pk}": 0,
            f"weight_{carol.pk}": 1,
            f"priority_{host.pk}": 0,
            f"weight_{host.pk}": 1,
        },
    )
    assert answer.status_code == 400
    assert "one line" in answer.content.decode()
    assert not BookingPage.objects.filter(slug="sales").exists()


def test_a_name_stored_with_a_line_break_still_lets_the_invitation_go_out(
    client, org, host, django_capture_on_commit_callbacks
):
    organization, _ = org
    Organization.objects.filter(pk=organization.pk).update(name=BROKEN)
    client.force_login(host)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("team:invite"), {"email": "new@example.com", "role": "member"})
    assert [message.subject for message in mail.outbox] == [
        "Join Contoso Bcc: eve@example.com on ScheduleOnce"
    ]
