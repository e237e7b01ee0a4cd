"""``manage.py rotate_token_key``: re-encrypt every stored token cache with the newest key.

Put the new key first in TOKEN_ENCRYPTION_KEYS (keep the old ones after it), run
this, then remove the old keys. Reports counts only, never keys or tokens.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from calendars import crypto
from calendars.models import CalendarConnection


class Command(BaseCommand):
    help = "Re-encrypt every calendar connection's stored tokens with the newest key."

    def handle(self, *args, **options):
        rotated, failed = 0, []
        ids = CalendarConnection.objects.exclude(token_cache="").values_list("pk", flat=True)
        for pk in ids:
            with transaction.atomic():
                row = CalendarConnection.objects.select_for_update().get(pk=pk)
                if not row.token_cache:
                    continue
                try:
                    row.token_cache = crypto.rotate(row.token_cache)
                except crypto.TokenKeyError:
                    failed.append(pk)
                    continue
                row.save(update_fields=["token_cache"])
                rotated += 1
        total = CalendarConnection.objects.count()
        self.stdout.write(
            f"Re-encrypted {rotated} connection(s) with the newest key; "
            f"{total - rotated - len(failed)} had no stored tokens."
        )
        if failed:
            listed = ", ".join(str(pk) for pk in failed)
            raise CommandError(
                f"{len(failed)} connection(s) could not be decrypted with any key in "
                f"TOKEN_ENCRYPTION_KEYS (ids: {listed}). Add the key they were written with "
                "and run the command again."
            )
