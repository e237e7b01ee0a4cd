"""A small shared outbox: durable work items that workers carry out exactly as asked.

Every app may import it (it imports no product app). Calendar pushes
(``calendars.PushedEvent``) and booking emails (``booking.BookingEmail``) use it
today; webhook deliveries and invitee reminders are meant to. The parts:

- ``models.OutboxItem``: the abstract row (state, attempts, due time, claim, lease,
  when last queued, last error). A concrete outbox adds what it delivers.
- ``claims``: take one item for one attempt with a conditional UPDATE (pending,
  due, not held by a live claim), holding a lease and a random claim token; every
  write after that is conditional on still holding the claim (``Claim.save`` raises
  ``LostClaim`` otherwise), and the attempt ends with ``Claim.settle``.
- ``backoff``: exponential backoff with full jitter that honours ``Retry-After``.
- ``outcomes``: what an attempt did, typed (``Status``), for tasks and logs.
- ``dispatch``: queue a task by name, after commit, without ever making the
  caller wait on the broker; a broker that is down is logged, not raised.
- ``sweeper``: each outbox registers how to find its lost items; beat's
  ``outbox-sweep`` re-queues them (a killed worker's, a lost message's, one queued
  while the broker was down).

Writing an item: create the row inside the transaction that decides it, then
``dispatch.task_send_on_commit(TASK, args=[row.pk])``. Its task claims, works,
settles, and re-queues itself when the outcome asks (``outcome.retry_in``).
"""
