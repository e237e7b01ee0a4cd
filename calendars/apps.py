from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "calendars"
    verbose_name = "Calendar integration"

    def ready(self) -> None:
        from calendars import (  # noqa: F401
            checks,  # registers the system checks
            tasks,  # registers the Celery tasks here too: bundles read their time limits
        )
        from calendars.services.push_queue import pushes_sweep
        from outbox.sweeper import sweeper_register

        sweeper_register("calendar pushes", lambda now: pushes_sweep(now=now))

        from accounts.services import time_zone_changed
        from calendars.services.busy_sync import on_time_zone_changed

        time_zone_changed.connect(on_time_zone_changed, dispatch_uid="calendars.time_zone_changed")
