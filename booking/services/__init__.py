"""booking's writes, by audience and job (every function keyword-only, typed, idempotent
where it says so):

- ``bookings``: a booking's life, for every audience: the public side books and moves
  (``booking_create``, ``booking_reschedule``; the actor is the invitee), either side
  cancels (``booking_cancel`` takes its actor). The host side (Setup → Meetings) builds
  here. Every change is announced as a booking event (``booking.events``).
- ``calendar_events``: how a booking appears in the host's calendars (the neutral event,
  its outbox rows), and asking again after a (re)connect.
- ``pages``: Setup → Booking pages: creating, editing, duplicating, enabling, deleting
  pages and choosing their calendars.
- ``horizons``: how far ahead each calendar's busy time is read, kept up to date in one
  place (receivers of page and calendar changes).
- ``connections``: booking's answer to a calendar connection (main calendars).
- ``locking``: the per-host lock every booking and page write takes.
"""
