"""``manage.py compilemessages`` in pure Python (Babel), so GNU gettext is not needed.

Writes ``locale/<lang>/LC_MESSAGES/<domain>.mo`` from each committed ``.po``; fuzzy
entries are left out (``check_translations`` refuses them anyway). ``make run``,
the test suite (``conftest.py``) and the Docker build run it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ops.translations import compile_catalogs


class Command(BaseCommand):
    help = "Compile the message catalogues (.po) into .mo files, without GNU gettext."

    def handle(self, *args, **options):
        written = compile_catalogs()
        if options["verbosity"] > 0:
            self.stdout.write(f"Compiled {len(written)} message catalogue(s).")
