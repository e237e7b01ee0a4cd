"""The demo host that local runs seed, so the product can be tried at once."""

from __future__ import annotations

from accounts.models import User
from accounts.services import organization_create_for

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_TIME_ZONE = "Europe/London"


def ensure_demo_host() -> tuple[User, bool]:
    """Create the demo host if missing; never touches an existing account."""
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is not None:
        return user, False
    user = User.objects.create_user(
        DEMO_EMAIL, DEMO_PASSWORD, name="Demo Host", time_zone=DEMO_TIME_ZONE
    )
    organization_create_for(user=user, name="Demo organization")
    return user, True
