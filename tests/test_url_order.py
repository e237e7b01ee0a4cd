"""Invitees' addresses are matched before the host side's patterns are tried."""

from __future__ import annotations

import pytest
from django.urls import resolve

INVITEE_PATHS = [
    "/book/alice-intro/",
    "/api/booking-pages/alice-intro/slots",
    "/api/booking-pages/alice-intro/bookings",
    "/bookings/some-token/cancel/",
]
HOST_SIDE = ("accounts/", "setup/", "api/v1/", "webhooks/", "admin/")


@pytest.mark.parametrize("path", INVITEE_PATHS)
def test_an_invitees_request_tries_no_host_side_pattern_first(path):
    match = resolve(path)
    assert match.namespace == "booking"
    tried_first = [str(patterns[0].pattern) for patterns in match.tried[:-1]]
    assert not [pattern for pattern in tried_first if pattern.startswith(HOST_SIDE)]
