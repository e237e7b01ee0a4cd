"""A local stand-in for the parts of Microsoft's identity platform and Graph that
ScheduleOnce uses. See the README, "The Graph sandbox".

The product never imports this package: it reaches the sandbox only over HTTP,
through MSAL and its Graph client, exactly as it reaches Microsoft.
"""
