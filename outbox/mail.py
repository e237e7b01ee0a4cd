"""What an outbox email row records when the mail server refuses it.

Booking emails and organization invitations fail the same way: the attempt is logged
without the address, the row waits for its next delay or, past the last one, is
given up on (a person can ask again from Setup).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from outbox.claims import Claim
from outbox.outcomes import Outcome, Status

logger = logging.getLogger(__name__)


def mail_error_text(error: Exception) -> str:
    """What the row keeps of a refused send: the kind of error, never its text (a
    server's answer may repeat the address)."""
    return f"the mail server did not take it ({type(error).__name__})"


def mail_failure_record(
    claim: Claim, error: Exception, *, delays: Sequence[int], failed_state: str, described: str
) -> Outcome:
    """Retry the claimed row after ``delays[attempt - 1]`` seconds, or settle it as
    ``failed_state`` once every delay was used. ``described``: the row in log lines."""
    attempts = claim.item.attempts
    text = mail_error_text(error)
    logger.warning("%s: attempt %s failed (%s)", described, attempts, text)
    if attempts > len(delays):
        claim.settle(state=failed_state, next_attempt_at=None, last_error=text)
        logger.error("%s: gave up after %s attempts", described, attempts)
        return Outcome(Status.FAILED)
    delay = delays[attempts - 1]
    claim.retry_later(delay=delay, error=text)
    return Outcome(Status.RETRY, retry_in=delay)
