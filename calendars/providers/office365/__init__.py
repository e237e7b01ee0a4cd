"""Office 365 (Microsoft 365) calendars through MSAL and Microsoft Graph.

Everything Microsoft-specific lives in this package:

- ``provider``: ``Office365Provider``, the ``CalendarProvider`` for Office 365; it turns
  Graph's answers into the neutral shapes and errors of ``calendars.providers.base``.
- ``graph``: the Graph client and the process's pooled HTTP session for Microsoft.
- ``msal_app``: the one place MSAL's confidential client is built.
- ``payloads``, ``zones``: Graph's JSON, showAs and Windows time zone names.
- ``limits``: Outlook's 4 concurrent calls per mailbox; the 90-day sign-in.
- ``urls`` (and a ``views`` module for endpoints of its own, such as Graph's change
  notifications): Office 365's addresses.

The protocol modules know nothing of our database; only ``urls``/``views`` may use
calendars' services.
"""

from calendars.providers.office365.provider import Office365Provider

__all__ = ["Office365Provider"]
