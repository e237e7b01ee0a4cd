"""``manage.py seed_demo``: create the demo data a local run needs, when missing.

Never changes data that already exists, so it is safe on every start.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.urls import reverse

from accounts.demo import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_host
from booking.demo import ensure_demo_page


class Command(BaseCommand):
    help = "Create the demo host (and its demo data) if missing, and print the demo login."

    def handle(self, *args, **options):
        host, created = ensure_demo_host()
        verb = "Created" if created else "Found"
        self.stdout.write(f"{verb} the demo host.")
        password = DEMO_PASSWORD
        if not host.check_password(DEMO_PASSWORD):
            password = "(changed since it was created)"
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: {DEMO_EMAIL} / {password}  "
                f"(log in at {settings.SITE_URL}/accounts/login/)"
            )
        )
        page, created = ensure_demo_page(host)
        link = settings.SITE_URL + reverse("booking:page", args=[page.slug])
        self.stdout.write(f"{'Created' if created else 'Found'} the demo booking page: {link}")
        if apps.is_installed("graph_sandbox"):
            call_command("seed_graph_sandbox", stdout=self.stdout)
