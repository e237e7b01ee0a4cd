"""Signals other apps listen to; calendars never imports its listeners.

``connection_established``: sent after a host connects or reconnects and the
calendar list is imported. Arguments: ``connection`` (CalendarConnection),
``new_account`` (True when it is not the account the host had before, so
every future booking must be pushed to the new main booking calendar).

``calendars_changed``: sent after a host's list of calendars changed (import
or "Refresh calendar list"). Argument: ``connection``.
"""

from django.dispatch import Signal

connection_established = Signal()
calendars_changed = Signal()
