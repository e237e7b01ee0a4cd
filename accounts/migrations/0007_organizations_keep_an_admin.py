"""Organizations that have current members but no admin who can sign in (their last
admin's account was deleted or deactivated before ``accounts.receivers`` restored one):
their longest-standing active member becomes admin, as the receivers do from now on."""

from django.db import migrations


def admins_restore(apps, schema_editor):
    Membership = apps.get_model("accounts", "Membership")
    current = Membership.objects.filter(removed_at__isnull=True, user__is_active=True)
    with_admin = current.filter(role="admin").values_list("organization_id", flat=True)
    for organization_id in (
        current.exclude(organization_id__in=with_admin)
        .values_list("organization_id", flat=True)
        .distinct()
    ):
        heir = current.filter(organization_id=organization_id).order_by("joined_at", "pk").first()
        heir.role = "admin"
        heir.save(update_fields=["role"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_invitation_emails"),
    ]

    operations = [migrations.RunPython(admins_restore, migrations.RunPython.noop)]
