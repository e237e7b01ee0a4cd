"""Setup's integration pages (mounted under ``setup/``)."""

from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("integration/webhooks/", views.webhooks, name="webhooks"),
    path("integration/webhooks/<int:pk>/", views.endpoint, name="webhook"),
    path("integration/webhooks/<int:pk>/rotate/", views.endpoint_rotate, name="webhook-rotate"),
    path("integration/webhooks/<int:pk>/test/", views.endpoint_test, name="webhook-test"),
    path("integration/webhooks/<int:pk>/delete/", views.endpoint_delete, name="webhook-delete"),
    path(
        "integration/webhooks/deliveries/<int:pk>/resend/",
        views.delivery_resend_view,
        name="delivery-resend",
    ),
    path("profile/api-tokens/", views.tokens, name="tokens"),
    path("profile/api-tokens/<int:pk>/revoke/", views.token_revoke_view, name="token-revoke"),
]
