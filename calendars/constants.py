"""Numbers and choices of the calendar integration that are not settings."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# The "Default reminder for Office 365 events" dropdown: minutes before start, None = no reminder.
REMINDER_CHOICES: list[tuple[int | None, object]] = [
    (None, _("None")),
    (0, _("0 minutes")),
    (5, _("5 minutes")),
    (10, _("10 minutes")),
    (15, _("15 minutes")),
    (30, _("30 minutes")),
    (60, _("1 hour")),
    (120, _("2 hours")),
    (720, _("12 hours")),
    (1440, _("1 day")),
    (10080, _("1 week")),
]
REMINDER_MINUTES = frozenset(minutes for minutes, _label in REMINDER_CHOICES)
DEFAULT_REMINDER_MINUTES = 15

# How long a started sign-in may take before its state is forgotten, and how many
# may be open at once in one browser session.
SIGN_IN_TTL_SECONDS = 15 * 60
SIGN_IN_MAX_OPEN = 5
