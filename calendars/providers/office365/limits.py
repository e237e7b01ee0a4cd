"""What Microsoft's services allow, as the Office 365 provider declares it."""

from __future__ import annotations

from datetime import timedelta

# Outlook serves one app at most 4 concurrent requests per mailbox; a 5th is refused
# with 429 ApplicationThrottled ("Application is over its MailboxConcurrency limit.").
MAILBOX_CONCURRENCY = 4

# Microsoft's refresh tokens live 90 days from their last use (not configurable since 2021).
REFRESH_TOKEN_LIFETIME = timedelta(days=90)

# Lifetimes of a change-notification subscription to fall back on, longest first, when
# Graph refuses a longer one with 400. Microsoft's pages give Outlook events 4,230
# minutes (older) or 10,080 (newer): the safe one, a few minutes under it so a clock a
# little ahead of Graph's is not refused, then 60 as a last resort.
SUBSCRIPTION_LIFETIMES_MINUTES = (4230 - 5, 60)

# The longest Retry-After we honour from Graph or the identity platform, in seconds. Graph
# asks for seconds to minutes; a longer wait (a misconfigured front door, a date far off)
# is read as this, the bound MSAL itself puts on the token endpoint's Retry-After.
MAX_RETRY_AFTER = 3600.0
