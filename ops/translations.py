"""Message catalogues: compiling them without GNU gettext, and checking them.

The source language is English (the ``msgid`` is the English text); every other
language in ``settings.LANGUAGES`` is *shipped* and must be complete. Catalogues live
in ``locale/<lang>/LC_MESSAGES/{django,djangojs}.po`` (``settings.LOCALE_PATHS``) and
are committed; the compiled ``.mo`` files are not: ``manage.py compilemessages``
(overridden in ``ops``) writes them with Babel, in pure Python, so a clean clone, the
Docker build and a machine without gettext all get the same result.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings

DOMAINS = ("django", "djangojs")


def locale_root() -> Path:
    return Path(settings.LOCALE_PATHS[0])


def shipped_languages() -> list[str]:
    """Every language users can choose except the source language (English)."""
    source = settings.LANGUAGE_CODE.split("-")[0]
    return [code for code, _name in settings.LANGUAGES if code.split("-")[0] != source]


def catalog_paths(root: Path | None = None) -> list[Path]:
    root = root or locale_root()
    return sorted(root.glob("*/LC_MESSAGES/*.po"))


def read_catalog(path: Path, *, template: bool = False) -> Catalog:
    """A catalogue, or a template (.pot), whose header has placeholders instead of values."""
    data = path.read_bytes()
    if template:
        data = data.replace(b"nplurals=INTEGER; plural=EXPRESSION;", b"nplurals=2; plural=0;")
    return read_po(io.BytesIO(data), abort_invalid=True)


def compile_catalogs(root: Path | None = None) -> list[Path]:
    """Write ``X.mo`` beside every ``X.po`` under ``root`` (fuzzy entries left out)."""
    written = []
    for po_path in catalog_paths(root):
        mo_path = po_path.with_suffix(".mo")
        catalog = read_catalog(po_path)
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


@dataclass(frozen=True)
class Problem:
    catalog: str
    msgid: str
    what: str

    def __str__(self) -> str:
        return f"{self.catalog}: {self.what}: {self.msgid!r}"


def _key(message) -> tuple[str | None, str]:
    msgid = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
    return (message.context, msgid)


def _untranslated(message) -> bool:
    strings = message.string if isinstance(message.string, (tuple, list)) else [message.string]
    return not strings or any(not text for text in strings)


Key = tuple[str | None, str]


def catalog_problems(path: Path, *, expected: set[Key] | None = None) -> list[Problem]:
    """Untranslated or fuzzy entries of one catalogue, and ``expected`` ids it lacks."""
    name = str(path)
    catalog = read_catalog(path)
    problems = []
    present = set()
    for message in catalog:
        if not message.id:  # the header
            continue
        key = _key(message)
        present.add(key)
        if message.fuzzy:
            problems.append(Problem(name, key[1], "fuzzy"))
        elif _untranslated(message):
            problems.append(Problem(name, key[1], "untranslated"))
    for _context, msgid in sorted(expected - present if expected else (), key=str):
        problems.append(Problem(name, msgid, "missing (run `make messages`)"))
    return problems


def message_keys(path: Path) -> set[tuple[str | None, str]]:
    """The ids (with context) of a catalogue or template (``.pot``)."""
    return {_key(message) for message in read_catalog(path, template=True) if message.id}
