from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def integration(request: HttpRequest) -> HttpResponse:
    """Setup → Integration → Calendar integration."""
    return render(request, "calendars/integration.html", {"section": "calendar"})
