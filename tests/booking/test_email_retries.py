"""Retried booking emails against the production broker's redelivery rule."""

from __future__ import annotations

from django.conf import settings

from booking.tasks import EMAIL_RETRY_DELAYS


def test_no_email_retry_waits_long_enough_for_redis_to_deliver_it_twice():
    # A worker holds a retry unacknowledged until its countdown ends; Redis gives a
    # message held that long to a second worker, and the invitee gets the email twice.
    margin = 5 * 60
    assert max(EMAIL_RETRY_DELAYS) <= settings.REDIS_VISIBILITY_TIMEOUT - margin


def test_a_mail_server_outage_is_still_retried_for_about_five_hours():
    assert 4.5 * 3600 <= sum(EMAIL_RETRY_DELAYS) <= 6 * 3600
