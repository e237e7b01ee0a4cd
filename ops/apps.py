from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from ops import celery_context, checks  # noqa: F401  (checks: registers the system checks)

        celery_context.connect()
