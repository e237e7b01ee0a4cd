from django.urls import path

from accounts import views
from booking.views import setup_home

app_name = "setup"

urlpatterns = [
    path("", setup_home, name="home"),
    path("profile/", views.setup_profile, name="profile"),
    path("profile/password/", views.setup_password, name="password"),
]
