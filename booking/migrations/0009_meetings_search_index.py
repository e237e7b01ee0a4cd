"""Setup → Meetings' search (``search_text LIKE '%…%'``) through a trigram index.

PostgreSQL only, and only where this database user may add the ``pg_trgm`` extension
(it ships with PostgreSQL; creating it needs the right privilege). Without it the
search still works, by reading the host's bookings (bench/meetings.py measures both).
"""

from django.db import DatabaseError, migrations, transaction

INDEX = "booking_booking_search_trgm"


def trigram_index(apps, schema_editor) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON booking_booking "
                "USING gin (search_text gin_trgm_ops)"
            )
    except DatabaseError:
        pass


def drop_trigram_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0008_meetings_tabs_index"),
    ]

    operations = [
        migrations.RunPython(trigram_index, drop_trigram_index, elidable=True),
    ]
