"""Every word a template shows goes through the catalogue.

The rendered-page check (test_no_english_in_german.py) sees only the pages and states
it renders, and only English that equals a catalogue message; a sentence typed straight
into a template ("You are logged in as …", a card shown only when a connected account
has no calendars) slipped past it and stayed English on German pages. This reads the
templates themselves: text outside ``translate`` / ``blocktranslate`` is a finding.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

# Text no reader needs in their language: protocol words shown as they are sent.
AS_SENT = {"webhook-id:"}
# The Graph sandbox plays Microsoft's own pages (English, as the demo tenant is).
NOT_OURS = {"graph_sandbox"}

_TRANSLATED = re.compile(r"{%\s*blocktranslate\b.*?{%\s*endblocktranslate\s*%}", re.S)
_COMMENTS = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.S)
_CODE = re.compile(r"<(script|style)\b.*?</\1>", re.S)
# {% block body_class %}public{% endblock %}: a class name, not a word to read.
_ONE_WORD_BLOCK = re.compile(r"{%\s*block\s+\w+\s*%}[\w -]*{%\s*endblock\s*%}")
_TAGS = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_ELEMENTS = re.compile(r"<[^>]*>", re.S)
_WORD = re.compile(r"[A-Za-z]{3,}")
_BRAND = re.compile(r"[\W\d]*(ScheduleOnce|Schedule|Once|Office 365)?[\W\d]*")


def templates() -> list[Path]:
    root = Path(settings.BASE_DIR)
    found = [
        *root.glob("templates/**/*.html"),
        *root.glob("*/templates/**/*.html"),
        *root.glob("templates/**/*.txt"),  # emails
        *root.glob("*/templates/**/*.txt"),
    ]
    return sorted(p for p in found if not NOT_OURS & set(p.relative_to(root).parts))


def untranslated_text(source: str) -> list[str]:
    for pattern in (_TRANSLATED, _COMMENTS, _CODE, _ONE_WORD_BLOCK):
        source = pattern.sub(" ", source)
    text = _ELEMENTS.sub("\n", _TAGS.sub(" ", source))
    return [
        line.strip()
        for line in text.splitlines()
        if _WORD.search(line) and not _BRAND.fullmatch(line.strip()) and line.strip() not in AS_SENT
    ]


def test_the_scan_finds_a_typed_sentence_and_passes_a_translated_one():
    source = (
        '{% load i18n %}<p>{% translate "Hello" %}</p>'
        "<p>{% blocktranslate with e=user.email %}Signed in as {{ e }}{% endblocktranslate %}</p>"
        "<h1>Disconnect {{ provider_name }}?</h1>"
        "{% block body_class %}public{% endblock %}<strong>ScheduleOnce</strong>"
    )
    assert untranslated_text(source) == ["Disconnect  ?"]


def test_no_template_shows_text_outside_the_catalogue():
    found = {
        str(path.relative_to(settings.BASE_DIR)): lines
        for path in templates()
        if (lines := untranslated_text(path.read_text()))
    }
    assert found == {}
