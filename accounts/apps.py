from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import (
            invitation_outbox,
            tasks,  # noqa: F401  (registers the Celery tasks in this process)
        )
        from outbox.sweeper import sweeper_register

        sweeper_register("invitation emails", invitation_outbox.invitation_emails_sweep)
