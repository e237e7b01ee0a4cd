"""The Celery application: workers and beat load their configuration from Django settings."""

import os

from celery import Celery

from scheduleonce import filesystem_broker, redis_broker

filesystem_broker.register()  # whole messages only on the embedded broker of local runs
redis_broker.register()  # one Redis client per channel, not one per message

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scheduleonce.settings")

# Every `celery worker` we start (docker-compose.yml, manage.py run, the benches, the
# tests) runs without worker-to-worker chatter, which nothing here reads: no heartbeat
# events every 2 s (for event monitors such as Flower; the health check is `inspect
# ping`, remote control, which stays), no gossip (each worker processing every other
# worker's heartbeats), no mingle (asking the others for revoked task ids at start).
WORKER_QUIET = ("--without-gossip", "--without-mingle", "--without-heartbeat")

app = Celery("scheduleonce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
