"""Validators shared by every form that takes text from people."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

ONE_LINE_MESSAGE = "Keep it to one line, without line breaks or control characters."


def validate_one_line(value: str) -> None:
    """Refuse line breaks and other control characters.

    For text that ends up in an email subject (names, page titles): Django refuses
    to send a header with a line break, so the email would be lost.
    """
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValidationError(ONE_LINE_MESSAGE)
