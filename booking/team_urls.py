"""Setup → Team (namespace ``team``), for admins of an organization."""

from django.urls import path

from booking import team_views as views

app_name = "team"

urlpatterns = [
    path("", views.team_home, name="home"),
    path("invite/", views.invite, name="invite"),
    path("organization/", views.organization_view, name="organization"),
    path("invitations/<int:pk>/resend/", views.invitation_resend_view, name="resend"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke_view, name="revoke"),
    path("members/<int:pk>/role/", views.member_role_view, name="role"),
    path("members/<int:pk>/remove/", views.member_remove_view, name="remove"),
    path("pages/new/", views.team_page_create_view, name="page_create"),
    path("pages/<int:pk>/members/", views.team_page_members_view, name="page_members"),
]
