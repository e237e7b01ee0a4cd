"""``manage.py check_translations``: fail on any string a shipped language lacks.

Extracts every marked string from the source as ``makemessages`` does (GNU
``xgettext``, without touching the catalogues) and fails when a shipped
language's catalogue is missing one, or has an untranslated or fuzzy entry.
``make test`` runs it. Without ``xgettext`` (a machine with only Python) the
catalogues themselves are still checked and the extraction is skipped with a
warning; with ``REQUIRE_SERVICES=1`` (CI) a missing ``xgettext`` is an error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.management.commands import makemessages
from ops.translations import (
    DOMAINS,
    catalog_problems,
    locale_root,
    message_keys,
    shipped_languages,
)


class _Extract(makemessages.Command):
    """makemessages that reads the template (.pot) instead of updating catalogues."""

    def handle(self, *args, **options):
        self.extracted: set = set()
        return super().handle(*args, **options)

    def write_po_file(self, potfile, locale):
        self.extracted |= message_keys(Path(potfile))


def extracted_keys(domain: str, language: str) -> set:
    command = _Extract()
    command.run_from_argv(["manage.py", "makemessages", "-l", language, "-d", domain, "-v", "0"])
    return command.extracted


class Command(BaseCommand):
    help = "Fail when a shipped language lacks a string, or has an untranslated or fuzzy one."

    def handle(self, *args, **options):
        can_extract = shutil.which("xgettext") is not None
        if not can_extract:
            if os.environ.get("REQUIRE_SERVICES", "") == "1":
                raise CommandError("REQUIRE_SERVICES=1 but GNU gettext (xgettext) is missing.")
            self.stderr.write(
                "check_translations: xgettext (GNU gettext) not found; checking the "
                "catalogues only, not whether the source has new strings."
            )
        problems = []
        for language in shipped_languages():
            for domain in DOMAINS:
                po_path = locale_root() / language / "LC_MESSAGES" / f"{domain}.po"
                expected = extracted_keys(domain, language) if can_extract else set()
                if not po_path.exists():
                    if expected:
                        problems.append(f"{po_path}: missing (run `make messages`)")
                    continue
                problems += [str(p) for p in catalog_problems(po_path, expected=expected)]
        if problems:
            listing = "\n".join(f"  {problem}" for problem in problems)
            raise CommandError(f"{len(problems)} translation problem(s):\n{listing}")
        if options["verbosity"] > 0:
            self.stdout.write("Translations complete: " + ", ".join(shipped_languages()))
