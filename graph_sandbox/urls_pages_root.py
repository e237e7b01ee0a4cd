"""Only the browser pages, for the plain-http listener tests start (``server.PagesHandler``)."""

from django.urls import include, path

urlpatterns = [path("graph-sandbox/", include("graph_sandbox.urls"))]
