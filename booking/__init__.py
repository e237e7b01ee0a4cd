"""Booking pages and bookings, by audience.

- The host edits pages (Setup → Booking pages): ``views``, ``forms``, ``urls``
  (namespace ``pages``), ``services.pages``.
- Bookings and the host's side of them: ``services.bookings`` (create, reschedule,
  cancel with an actor), ``services.calendar_events``; Setup → Meetings builds here.
- The invitee's side (the public booking page, the invitee's links, the JSON API):
  ``public_views``, ``api``, ``public_forms``, ``public_urls`` (namespace ``booking``).
- Shared: ``models``, ``selectors`` (reads), ``slots`` (the pure slot engine),
  ``events`` (booking events and their subscribers' signals), ``emails`` and
  ``email_outbox`` (one email outbox row per event), ``services.horizons``.
"""
