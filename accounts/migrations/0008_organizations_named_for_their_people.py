"""Organizations still called by the default sign-up gave them, the name of the person who
signed up ("Hanna Neu"), are renamed as new ones are ("Hanna Neu's organization", in that
person's language): the old name read as if the organization were the person ("Everyone
in Hanna Neu", an invitation to "join Hanna Neu"). A name an admin chose is kept; one
changed to exactly the founder's name cannot be told from the default and is renamed too."""

from django.conf import settings
from django.db import migrations
from django.utils import translation
from django.utils.translation import gettext


def _person(user) -> str:
    return (user.name or user.email.split("@")[0]).strip()


def defaults_rename(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    Membership = apps.get_model("accounts", "Membership")
    for organization in Organization.objects.all().iterator():
        founder = (
            Membership.objects.filter(organization=organization)
            .select_related("user")
            .order_by("joined_at", "pk")
            .first()
        )
        if founder is None or organization.name != _person(founder.user)[:150]:
            continue
        with translation.override(founder.user.language or settings.LANGUAGE_CODE):
            name = gettext("%(name)s's organization") % {"name": _person(founder.user)}
        organization.name = name[:150]
        organization.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_organizations_keep_an_admin"),
    ]

    operations = [migrations.RunPython(defaults_rename, migrations.RunPython.noop)]
