from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from accounts import (
            invitation_outbox,
            receivers,
            tasks,  # noqa: F401  (registers the Celery tasks in this process)
        )
        from accounts.models import Membership
        from outbox.sweeper import sweeper_register

        post_delete.connect(
            receivers.on_membership_deleted,
            sender=Membership,
            dispatch_uid="accounts.receivers.on_membership_deleted",
        )
        post_save.connect(
            receivers.on_user_saved,
            sender=get_user_model(),
            dispatch_uid="accounts.receivers.on_user_saved",
        )

        sweeper_register("invitation emails", invitation_outbox.invitation_emails_sweep)
