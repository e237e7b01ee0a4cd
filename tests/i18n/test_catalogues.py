"""The message catalogues: compiled without gettext, checked for completeness."""

from __future__ import annotations

import gettext
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ops.translations import catalog_problems, compile_catalogs, shipped_languages
from tests.support.services import require_services

PO = """\
msgid ""
msgstr ""
"Language: de\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

msgid "Book"
msgstr "Buchen"

msgid "Cancel"
msgstr ""

#, fuzzy
msgid "Reschedule"
msgstr "Verschieben?"

msgid "one day"
msgid_plural "%(n)s days"
msgstr[0] "ein Tag"
msgstr[1] ""
"""


@pytest.fixture
def catalogue(tmp_path) -> Path:
    path = tmp_path / "de" / "LC_MESSAGES" / "django.po"
    path.parent.mkdir(parents=True)
    path.write_text(PO, encoding="utf-8")
    return path


def test_untranslated_fuzzy_and_missing_entries_are_problems(catalogue):
    problems = catalog_problems(catalogue, expected={(None, "Book"), (None, "New string")})
    found = {(problem.msgid, problem.what.split(" ")[0]) for problem in problems}
    assert found == {
        ("Cancel", "untranslated"),
        ("Reschedule", "fuzzy"),
        ("one day", "untranslated"),
        ("New string", "missing"),
    }


def test_a_complete_catalogue_has_no_problems(catalogue):
    catalogue.write_text(PO.split('msgid "Cancel"')[0], encoding="utf-8")
    assert catalog_problems(catalogue, expected={(None, "Book")}) == []


def test_catalogues_compile_without_gettext_and_leave_fuzzy_entries_out(catalogue):
    (mo_path,) = compile_catalogs(catalogue.parents[2])
    with mo_path.open("rb") as handle:
        german = gettext.GNUTranslations(handle)
    assert german.gettext("Book") == "Buchen"
    assert german.gettext("Reschedule") == "Reschedule"


def test_german_is_shipped_and_complete():
    assert shipped_languages() == ["de"]
    if shutil.which("xgettext") is None and not require_services():
        pytest.skip("GNU gettext is not installed; make test checks the catalogues only")
    call_command("check_translations", verbosity=0)


def test_the_check_fails_on_a_string_missing_from_the_catalogue(monkeypatch):
    from ops.management.commands import check_translations

    if shutil.which("xgettext") is None and not require_services():
        pytest.skip("GNU gettext is not installed")
    real = check_translations.extracted_keys

    def with_a_new_string(domain, language):
        return real(domain, language) | {(None, "A string nobody translated")}

    monkeypatch.setattr(check_translations, "extracted_keys", with_a_new_string)
    with pytest.raises(CommandError, match="A string nobody translated"):
        call_command("check_translations", verbosity=0)
