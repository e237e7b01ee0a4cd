"""``manage.py makemessages``, set up for a catalogue many people merge into.

Django's command, with: entries sorted by id, no source locations and no extraction date (so two
branches that add strings rarely touch the same lines), and the folders that hold
no product strings left out (the virtualenv, ``var/``, tests, benchmarks, and the
Graph sandbox, which plays Microsoft's pages, not ours). ``make messages`` runs it
for every shipped language and both domains.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management.commands import makemessages

CREATION_DATE = re.compile(r'^"POT-Creation-Date: [^"]*"\n', re.MULTILINE)
IGNORED = ["var", "node_modules", "tests", "bench", "docs", "graph_sandbox", "static/vendor"]


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--sort-output"]
    msguniq_options = [*makemessages.Command.msguniq_options, "--sort-output"]
    msgattrib_options = [*makemessages.Command.msgattrib_options, "--sort-output"]
    xgettext_options = [*makemessages.Command.xgettext_options, "--sort-output"]

    def handle(self, *args, **options):
        options["ignore_patterns"] = [*options["ignore_patterns"], *IGNORED]
        options["no_location"] = True
        options["no_obsolete"] = True
        return super().handle(*args, **options)

    def write_po_file(self, potfile, locale):
        super().write_po_file(potfile, locale)
        # The extraction time would change on every run and conflict on every merge.
        po_path = Path(potfile).parent / locale / "LC_MESSAGES" / f"{self.domain}.po"
        text = po_path.read_text(encoding="utf-8")
        po_path.write_text(CREATION_DATE.sub("", text), encoding="utf-8")
