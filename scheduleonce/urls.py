from django.contrib import admin
from django.urls import include, path

from ops.views import healthz, home

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("setup/", include("accounts.setup_urls")),
    path("setup/integration/", include("calendars.urls")),
    path("setup/booking-pages/", include("booking.urls")),
    path("admin/", admin.site.urls),
    path("", include("booking.public_urls")),
]
