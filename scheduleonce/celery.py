"""The Celery application: workers and beat load their configuration from Django settings."""

import os

from celery import Celery

from scheduleonce import filesystem_broker, redis_broker

filesystem_broker.register()  # whole messages only on the embedded broker of local runs
redis_broker.register()  # one Redis client per channel, not one per message

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduleonce.settings")

app = Celery("scheduleonce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
