from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def page_list(request: HttpRequest) -> HttpResponse:
    """Setup → Booking pages."""
    return render(request, "booking/page_list.html", {"section": "pages"})
