"""What Microsoft's services allow, as the Office 365 provider declares it."""

from __future__ import annotations

from datetime import timedelta

# Outlook serves one app at most 4 concurrent requests per mailbox; a 5th is refused
# with 429 ApplicationThrottled ("Application is over its MailboxConcurrency limit.").
MAILBOX_CONCURRENCY = 4

# Microsoft's refresh tokens live 90 days from their last use (not configurable since 2021).
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
