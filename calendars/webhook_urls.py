"""Addresses the calendar providers themselves call, at ``/webhooks/<key>/``.

A provider whose package's ``urls.py`` has ``webhook_urlpatterns`` (e.g. Graph's
change and lifecycle notifications for Office 365) is served there; nothing else is.
"""

from importlib import import_module

from django.urls import include, path

from calendars.providers import PROVIDERS, provider_package

urlpatterns = []
for key in PROVIDERS:
    patterns = getattr(import_module(f"{provider_package(key)}.urls"), "webhook_urlpatterns", [])
    if patterns:
        urlpatterns.append(path(f"{key}/", include(patterns)))
