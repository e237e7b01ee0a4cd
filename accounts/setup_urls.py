from django.urls import path

from accounts import views

app_name = "setup"

urlpatterns = [
    path("", views.setup_home, name="home"),
    path("profile/", views.setup_profile, name="profile"),
    path("profile/password/", views.setup_password, name="password"),
]
