"""Two-factor sign-in (TOTP with recovery codes) on django-otp.

A person turns it on in Setup → Profile, or is asked to before anything else when
their organization's admins require it (``Organization.require_two_factor``). Once
it is on, a session that logged in with the password only reaches Setup after a
code from the authenticator app, or a single-use recovery code
(``accounts.middleware.TwoFactorMiddleware``). django-otp keeps the devices, checks
the codes (each TOTP code once, with growing delays after failures) and marks the
session verified.
"""

from __future__ import annotations

import math

from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.selectors import organization_of

RECOVERY_CODES = 10
DEVICE_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def two_factor_enabled(*, user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(*, user) -> bool:
    organization = organization_of(user=user)
    return organization is not None and organization.require_two_factor


def totp_device_pending(*, user) -> TOTPDevice:
    """The not-yet-confirmed device the setup page shows (made once, kept until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def totp_confirm(*, request, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm ``device`` with a first code from the app: returns fresh recovery codes and
    marks the session verified, or None when the code is wrong."""
    token = token.strip().replace(" ", "")
    if not device.verify_token(token):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_replace(user=device.user)
    _session_verified(request, device)
    return codes


def _session_verified(request, device) -> None:
    """Mark the session verified by ``device`` under a new session id: whoever learnt
    the id of the half-logged-in session does not get the verified one."""
    request.session.cycle_key()
    otp_login(request, device)


def recovery_codes_replace(*, user) -> list[str]:
    """New single-use recovery codes; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def two_factor_verify(*, request, token: str) -> bool:
    """Check a code from the app (6 digits) or a recovery code; on success the session
    is verified. A recovery code works once."""
    token = token.strip().replace(" ", "")
    user = request.user
    for device in device_kind(token).objects.filter(user=user, confirmed=True):
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            _session_verified(request, device)
            return True
    return False


def device_kind(token: str) -> type[TOTPDevice] | type[StaticDevice]:
    """Which device checks ``token``: the app's for 6 digits, else the recovery codes."""
    return TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice


def two_factor_disable(*, user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def code_wait_seconds(*, user, pending: TOTPDevice | None = None, kind: type = TOTPDevice) -> int:
    """Seconds until a code can be checked at all (0: now). After wrong codes
    django-otp refuses every code, the right one too, for 1, 2, 4 … seconds; told "that
    code is not right", a person who then typed the right one would doubt their app.
    ``pending``: the device being set up, else the user's confirmed ones of ``kind``
    (``device_kind`` of the code: the app's, or the recovery codes')."""
    devices = [pending] if pending is not None else kind.objects.filter(user=user, confirmed=True)
    now = timezone.now()
    waits = []
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if allowed:
            return 0
        if data and data.get("locked_until"):
            waits.append(math.ceil((data["locked_until"] - now).total_seconds()))
    return max(1, min(waits)) if waits else 0
