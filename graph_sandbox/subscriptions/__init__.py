"""Change notifications, as Microsoft Graph sends them for Outlook events.

- ``views``: ``/v1.0/subscriptions`` (create, list, get, renew, delete, reauthorize).
- ``services``: the rules behind them (lifetime cap, 45-minute floor, 1,000 per
  mailbox, ownership); ``validation`` does the ``validationToken`` handshake.
- ``outbox``: every change to an event, wherever it comes from, queues a
  notification for the subscriptions that cover it (in the same transaction).
- ``delivery``: a background thread of the sandbox server POSTs them, batched,
  retried with back-off for up to 4 hours, plus lifecycle notifications.
- ``controls``: drop, delay, duplicate or reorder deliveries (for tests).

The README's "Graph change notifications: the facts we build on" lists the
Microsoft documentation each rule comes from.
"""
