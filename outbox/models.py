"""The abstract outbox item every outbox's rows extend."""

from __future__ import annotations

from django.db import models

# The states the shared machinery relies on; an outbox adds its own "done" state
# (calendar pushes: "synced", emails: "sent") and may add others ("waiting").
PENDING = "pending"
FAILED = "failed"


class OutboxItem(models.Model):
    """One piece of work to carry out outside the database, safely, at least once.

    ``state`` is ``pending`` until the work is done or given up on; a subclass
    redefines the field with its own choices (which must include ``pending`` and
    ``failed``). ``claimed_until``/``claimed_by`` are the lease and the claim token
    of the attempt under way (``outbox.claims``); ``next_attempt_at`` is when a
    retry is due; ``queued_at`` is when a task for the item was last sent (or is
    due), so the sweeper leaves recently queued items alone.
    """

    state = models.CharField(max_length=16, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker holds the row until this time; another may take it over after.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Who holds the claim (a random token per attempt): results are recorded only by
    # the holder, so a worker whose lease ran out cannot overwrite a newer attempt.
    claimed_by = models.CharField(max_length=64, blank=True, default="", editable=False)
    # When a task for this row was last sent to the broker (or is due, for a retry
    # sent with a countdown): the sweeper re-queues rows nobody queued recently.
    queued_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
