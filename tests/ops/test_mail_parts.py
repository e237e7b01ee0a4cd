"""An email's text attachment (the booking's .ics) is the part Django would make, the same
in every attribute and so the same bytes, made without Django building it again."""

from __future__ import annotations

from django.core.mail import message as django_message
from django.core.mail.message import SafeMIMEText
from hypothesis import given, settings
from hypothesis import strategies as st

from ops.mail import Email, text_part

ICS = "BEGIN:VCALENDAR\r\nSUMMARY:Intro call mit Jürgen \u2014 Köln\r\nEND:VCALENDAR\r\n"

# Texts near what decides a part's shape: ASCII or not, line breaks of every kind, lines
# around the 998 bytes past which Django sends quoted-printable, text not valid UTF-8.
_LINE_BREAKS = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"])
_TEXTS = st.one_of(
    st.text(),
    st.lists(st.one_of(st.text(max_size=40), _LINE_BREAKS)).map("".join),
    st.builds(
        lambda n, ch, tail: ch * n + tail,
        st.integers(990, 1002),
        st.sampled_from(["a", "\u00e4", "\u20ac"]),
        st.sampled_from(["", "\n", "\u2028x", "\x85"]),
    ),
)


def _state(part) -> dict:
    return dict(vars(part))


@given(text=_TEXTS, subtype=st.sampled_from(["calendar", "plain", "html", "csv"]))
@settings(max_examples=400, deadline=None)
def test_a_text_part_is_the_one_django_makes(text, subtype):
    try:
        djangos = SafeMIMEText(text, subtype, "utf-8")
    except UnicodeEncodeError:
        djangos = None
    if djangos is None:  # a lone surrogate: refused as Django refuses it
        try:
            text_part(text, subtype, "utf-8")
        except UnicodeEncodeError:
            return
        raise AssertionError("made a part Django refuses")
    ours = text_part(text, subtype, "utf-8")
    assert type(ours) is SafeMIMEText
    assert _state(ours) == _state(djangos)
    assert ours.as_bytes() == djangos.as_bytes()


def test_another_charset_is_left_to_django():
    ours = text_part("Grüße", "plain", "iso-8859-1")
    assert ours.as_bytes() == SafeMIMEText("Grüße", "plain", "iso-8859-1").as_bytes()


def test_an_email_with_an_ics_builds_one_text_part_the_bodys(monkeypatch):
    made: list[str] = []
    real_init = SafeMIMEText.__init__

    def counting(self, text, subtype="plain", charset=None):
        made.append(subtype)
        real_init(self, text, subtype, charset)

    monkeypatch.setattr(django_message.SafeMIMEText, "__init__", counting)
    text_part("warm", "calendar", "utf-8")  # the model parts are made once per process
    text_part("wärm", "calendar", "utf-8")
    made.clear()
    email = Email(subject="Booked", body="Hello Dana\n", to=["dana@example.com"])
    email.attach("invite.ics", ICS, "text/calendar")
    wire = email.message().as_bytes()
    assert made == ["plain"]
    assert b'Content-Type: text/calendar; charset="utf-8"' in wire
    assert "Jürgen".encode() in wire
