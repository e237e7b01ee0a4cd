"""Join-link emails become once-only in the database: the link each row announces is
kept (as a digest), and two unique indexes replace the check-then-insert."""

import hashlib

from django.db import migrations, models


def keep_links(apps, schema_editor):
    """Drop extra first-link rows (two workers' race), then record each booking's link.

    A booking's first-link row keeps its oldest row only: the others are the duplicates
    the check-then-insert could write. Each remaining row's link is the booking's join
    link today (the first wanted event's), which is what it announced unless the link
    changed since; a row whose booking has none keeps "".
    """
    BookingEmail = apps.get_model("booking", "BookingEmail")
    PushedEvent = apps.get_model("calendars", "PushedEvent")
    kept: dict[int, int] = {}
    for pk, booking_id in (
        BookingEmail.objects.filter(kind="join_link").order_by("pk").values_list("pk", "booking_id")
    ):
        if booking_id in kept:
            BookingEmail.objects.filter(pk=pk).delete()
        else:
            kept[booking_id] = pk
    for pk in kept.values():
        uuid = BookingEmail.objects.filter(pk=pk).values_list("booking__uuid", flat=True).first()
        url = (
            PushedEvent.objects.filter(source=f"booking:{uuid}", wanted=True)
            .exclude(online_meeting_url="")
            .order_by("pk")
            .values_list("online_meeting_url", flat=True)
            .first()
        )
        if url:
            digest = hashlib.sha256(url.encode()).hexdigest()
            BookingEmail.objects.filter(pk=pk).update(link_digest=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0012_booking_no_join_link"),
        ("calendars", "0009_calendar_online_meetings"),
    ]

    operations = [
        migrations.AddField(
            model_name="bookingemail",
            name="link_digest",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(keep_links, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="bookingemail",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "join_link")),
                fields=("booking",),
                name="one_join_link_email_per_booking",
            ),
        ),
        migrations.AddConstraint(
            model_name="bookingemail",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("kind__in", ["join_link", "join_link_change"]),
                    models.Q(("link_digest", ""), _negated=True),
                ),
                fields=("booking", "link_digest"),
                name="one_email_per_join_link",
            ),
        ),
    ]
