from django.apps import apps
from django.contrib import admin
from django.urls import include, path

from ops.views import healthz, home, metrics

# A failure outside any view (a middleware's query): JSON under /api/, 503 while the
# database is down. Views' own failures are answered by ops.middleware.
handler500 = "ops.views.server_error"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    # Most requests are invitees' (booking pages, their API, their links), and every
    # pattern tried before the one that answers costs each request: theirs come first.
    # No other pattern here starts as theirs do ("book/", "api/booking-pages/",
    # "bookings/", "time-zones.json").
    path("", include("booking.public_urls")),
    path("accounts/", include("accounts.urls")),
    path("setup/", include("accounts.setup_urls")),
    path("setup/integration/", include("calendars.urls")),
    path("setup/", include("integrations.urls")),
    path("api/v1/", include("integrations.api_urls")),
    path("webhooks/", include("calendars.webhook_urls")),
    path("setup/booking-pages/", include("booking.urls")),
    path("setup/team/", include("booking.team_urls")),
    path("setup/meetings/", include("booking.meeting_urls")),
    path("admin/", admin.site.urls),
]

if apps.is_installed("graph_sandbox"):
    # The Graph sandbox's sign-in, consent and mailbox pages (local runs only).
    urlpatterns.append(path("graph-sandbox/", include("graph_sandbox.urls")))
