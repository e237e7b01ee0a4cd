"""Every existing account gets an organization of its own, with the account as its admin.

Nothing else changes: pages, bookings, connections and pushed events keep their host,
and booking's next migration records each page's organization. Reversing removes
the organizations again (and only them).
"""

from django.db import migrations


def organization_name(user) -> str:
    return (user.name or user.email.split("@")[0]).strip()[:150] or "My organization"


def one_organization_per_host(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Organization = apps.get_model("accounts", "Organization")
    Membership = apps.get_model("accounts", "Membership")
    for user in User.objects.filter(memberships__isnull=True).order_by("pk").iterator():
        organization = Organization.objects.create(name=organization_name(user))
        Membership.objects.create(
            organization=organization, user=user, role="admin", joined_at=user.date_joined
        )


def remove_organizations(apps, schema_editor):
    apps.get_model("accounts", "Membership").objects.all().delete()
    apps.get_model("accounts", "Organization").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_organizations")]

    operations = [migrations.RunPython(one_organization_per_host, remove_organizations)]
