"""A booking email's headers are written as the standard library writes them, without its
folding machinery for a header whose line fits (``ops.mail.ShortHeaderPolicy``)."""

from __future__ import annotations

import email.header
from email._policybase import compat32

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ops.mail import SHORT_HEADERS, Email

NAMES = st.sampled_from(["To", "Subject", "Message-ID", "Content-Type", "X-A-Long-Header-Name"])
VALUES = st.text(alphabet=st.sampled_from("ab=;<>@,.\"' \t\r\nü€"), max_size=120) | st.text(
    alphabet=st.characters(max_codepoint=0x7F), max_size=120
)


@settings(max_examples=3000, deadline=None)
@given(name=NAMES, value=VALUES, linesep=st.sampled_from(["\n", "\r\n"]))
@example(name="Subject", value="x" * 69, linesep="\n")  # exactly 78 characters
@example(name="Subject", value="x" * 70, linesep="\n")
@example(name="To", value=" leading and trailing ", linesep="\n")
@example(name="To", value="two  spaces", linesep="\n")
def test_every_header_line_is_the_standard_librarys(name, value, linesep):
    ours, theirs = SHORT_HEADERS.clone(linesep=linesep), compat32.clone(linesep=linesep)
    for sanitize in (True, False):
        try:
            expected = theirs.fold_binary(name, value) if sanitize else theirs.fold(name, value)
        except Exception as error:  # the same refusal either way
            expected = type(error)
        try:
            got = ours.fold_binary(name, value) if sanitize else ours.fold(name, value)
        except Exception as error:
            got = type(error)
        assert got == expected


@settings(max_examples=200, deadline=None)
@given(
    subject=st.text(alphabet=st.sampled_from("Ab Üß—-:,."), min_size=1, max_size=150),
    name=st.text(alphabet=st.sampled_from("Ab Ü."), min_size=1, max_size=40),
    body=st.text(max_size=300),
)
def test_a_whole_email_is_the_same_bytes(subject, name, body):
    subject = " ".join(subject.split()) or "x"
    message = Email(
        subject=subject,
        body=body,
        from_email="ScheduleOnce <bookings@example.com>",
        to=[f'"{name}" <i@example.com>'],
        reply_to=["host@example.com"],
        headers={"Message-ID": "<1@example.com>", "Date": "Mon, 07 Dec 2026 02:00:00 -0000"},
    )
    message.attach("invite.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    built = message.message()
    assert built.policy is SHORT_HEADERS
    ours = built.as_bytes(linesep="\r\n")
    built.policy = compat32
    assert ours == built.as_bytes(linesep="\r\n")


def test_short_headers_skip_the_standard_librarys_folding(monkeypatch):
    """A booking email's header lines mostly fit (``MIME-Version: 1.0``, addresses, the
    date): none of them builds an ``email.header.Header`` to be folded."""
    made = []
    real = email.header.Header.__init__

    def counted(self, *args, **kwargs):
        made.append(args[:1])
        real(self, *args, **kwargs)

    message = Email(
        subject="Confirmed: Intro call with Ada on Monday",
        body="Your meeting with Ada is booked.",
        from_email="ScheduleOnce <bookings@example.com>",
        to=["i@example.com"],
        reply_to=["host@example.com"],
    )
    message.attach("invite.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    built = message.message()
    monkeypatch.setattr(email.header.Header, "__init__", counted)
    built.as_bytes(linesep="\r\n")
    assert made == []
