"""Office 365 (Microsoft 365) calendars through MSAL and Microsoft Graph."""

from calendars.providers.office365.provider import Office365Provider

__all__ = ["Office365Provider"]
