from django.conf import settings

SITE_NAME = "ScheduleOnce"


def site(request):
    return {"site_name": SITE_NAME, "site_url": settings.SITE_URL}
