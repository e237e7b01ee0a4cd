from django.conf import settings

from ops.csp import is_embeddable

SITE_NAME = "ScheduleOnce"


def site(request):
    return {
        "site_name": SITE_NAME,
        "site_url": settings.SITE_URL,
        # A public page shown inside another site's frame (the embed snippets add ?embed=1).
        "embedded": request.GET.get("embed") == "1" and is_embeddable(request),
    }
