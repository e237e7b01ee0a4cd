"""``manage.py seed_graph_sandbox``: create the sandbox's demo tenant when missing.

``seed_demo`` (and so ``make run``) calls it when the sandbox is installed. The
sandbox keeps its own database, so this brings that database up to date first.
"""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand

from graph_sandbox.demo import DEMO_PASSWORD, PEOPLE
from graph_sandbox.router import DB
from graph_sandbox.seed import ensure_demo_tenant


class Command(BaseCommand):
    help = "Create the Graph sandbox's demo tenant, mailboxes and calendars if missing."

    def handle(self, *args, **options):
        call_command("migrate", database=DB, interactive=False, verbosity=0)
        result = ensure_demo_tenant()
        verb = "Created" if result.created else "Found"
        self.stdout.write(f"{verb} the Graph sandbox's demo tenant.")
        addresses = ", ".join(p.address for p in PEOPLE)
        self.stdout.write(
            self.style.SUCCESS(f"Microsoft sign-in (sandbox): {addresses} / {DEMO_PASSWORD}")
        )
