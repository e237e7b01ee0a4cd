"""``manage.py healthcheck``: container health checks that test the real pipeline.

``--heartbeat beat --max-age 300`` passes only when a worker recently ran the
heartbeat task that beat sends: beat, broker, worker and database all work.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from ops.models import WorkerHeartbeat


class Command(BaseCommand):
    help = "Exit non-zero unless the database answers (and a heartbeat is recent, if asked)."

    def add_arguments(self, parser):
        parser.add_argument("--heartbeat", help="heartbeat source to check, e.g. 'beat'")
        parser.add_argument("--max-age", type=int, default=300, help="seconds")

    def handle(self, *args, heartbeat: str | None, max_age: int, **options):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if heartbeat:
            beat = WorkerHeartbeat.objects.filter(source=heartbeat).first()
            if beat is None:
                raise CommandError(f"no {heartbeat!r} heartbeat yet")
            age = timezone.now() - beat.seen_at
            if age > timedelta(seconds=max_age):
                raise CommandError(f"{heartbeat!r} heartbeat is {int(age.total_seconds())}s old")
        self.stdout.write("ok")
