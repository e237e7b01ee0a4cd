"""The small interface every calendar provider implements, and its one error type.

A provider knows one vendor's protocol (sign-in, calendars, busy time, events)
and nothing about our database: callers hand it the opaque ``token_state`` a
sign-in produced and store what it hands back. Every failure is a
:class:`ProviderError`; the ones callers act on have their own subclass
(:class:`EventGone`, :class:`CalendarGone`, :class:`DeltaExpired`,
:class:`DuplicateKey`, :class:`CreateConflict`), so neutral code never reads a
vendor's status codes or error names. What a provider's service limits are
(concurrent calls per account, how long a sign-in lasts unused) are attributes of
the provider.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from calendars.events import Availability, EventDescription


class ProviderError(Exception):
    """Anything that went wrong talking to a provider.

    ``permanent``: the grant is gone (revoked, expired, consent withdrawn); the
    connection must be marked disconnected and the host asked to reconnect.
    Otherwise the failure may pass: ``retry_after`` (seconds) says when to try
    again if the provider said so. ``status`` is the HTTP status when there was
    one and ``code`` the provider's error code (e.g. ``invalid_grant``,
    ``ErrorItemNotFound``). For permanent errors ``reason`` says why the grant is
    gone: ``"expired"`` or ``"revoked"``. ``for_host``: the provider wrote ``message``
    for the host (what the vendor answered at sign-in), to be shown as it is; other
    messages are for logs, and hosts get ``calendars.error_text``'s words. The message
    never contains a token.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        code: str = "",
        reason: str = "",
        for_host: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.for_host = for_host
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.code = code
        self.reason = reason or ("revoked" if permanent else "")

    @property
    def retryable(self) -> bool:
        """True when trying the same request again later may succeed."""
        if self.permanent:
            return False
        return self.status is None or self.status >= 500 or self.status in (401, 408, 409, 429)

    @property
    def refused(self) -> bool:
        """The provider answered no to this very request, for good (nothing was done)."""
        status = self.status or 0
        return 400 <= status < 500 and not self.retryable

    def as_kind(self, kind: type[ProviderError]) -> ProviderError:
        """This error as the more meaningful ``kind`` (a subclass), carrying all it carries."""
        recast = kind(self.message)
        recast.__dict__.update(self.__dict__)
        return recast

    @property
    def token_rejected(self) -> bool:
        """The access token was not accepted: refresh it and try once more."""
        return self.status == 401

    def __str__(self) -> str:
        return self.message


class EventGone(ProviderError):
    """The event no longer exists in its calendar (deleted there, e.g. by the host)."""


class CalendarGone(ProviderError):
    """The calendar itself no longer exists (deleted, or no longer shared with us)."""


class DeltaExpired(ProviderError):
    """The provider no longer knows the delta link: read the window in full again."""


class DuplicateKey(ProviderError):
    """The create's idempotency key was already used, for a different request."""


class CreateConflict(ProviderError):
    """The create met a conflict other than a reused key (Graph: a 409 that is not
    ``ErrorDuplicateTransactionId``): an earlier sending with the same key may have made
    the event, or be making it. Look it up by the key; if it is not there, try again
    later with the same key (never a new one: that could make a second event)."""


class SubscriptionGone(ProviderError):
    """The change-notification subscription no longer exists (expired or removed)."""


class LifetimeRefused(ProviderError):
    """The provider refused the subscription's expiry as too far ahead: ask for less."""


@dataclass(frozen=True)
class SignIn:
    """A started sign-in: send the browser to ``url``; keep ``flow`` (secret) for the callback."""

    url: str
    state: str
    flow: dict


@dataclass(frozen=True)
class Account:
    """The signed-in account; ``addresses`` are every address that identifies it."""

    account_id: str
    email: str
    name: str = ""
    addresses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Grant:
    """The outcome of a completed sign-in. ``token_state`` is secret: encrypt before storing."""

    account: Account
    token_state: str
    access_token: str = field(repr=False)


@dataclass(frozen=True)
class AccessToken:
    """A usable access token. ``token_state`` is the new state to store, or None if unchanged;
    ``refresh_rotated`` is True when the provider issued a new refresh token."""

    token: str = field(repr=False)
    token_state: str | None = field(default=None, repr=False)
    refresh_rotated: bool = False


@dataclass(frozen=True)
class RemoteCalendar:
    remote_id: str
    name: str
    color: str = ""
    is_default: bool = False
    can_edit: bool = False
    owner_address: str = ""
    # The provider says only the calendar's creator may share it (Graph's ``canShare``).
    can_share: bool = False
    # The calendar can give an event the online meeting ``EventDescription.online_meeting``
    # asks for (Office 365: Teams; a personal Microsoft account's calendar cannot).
    online_meetings: bool = True


@dataclass(frozen=True)
class CalendarList:
    """Calendars the host owns and may write to, and how many others were skipped."""

    owned: list[RemoteCalendar]
    skipped: list[RemoteCalendar]


@dataclass(frozen=True)
class BusyEvent:
    """One event as busy-time sync needs it. Times are aware UTC datetimes; ``availability``
    is the provider's own word for how the event shows its owner's time, translated."""

    remote_id: str
    start: datetime
    end: datetime
    availability: Availability = Availability.BUSY
    is_cancelled: bool = False
    # The idempotency key the creating app set (ours, for events we pushed), else "".
    transaction_id: str = ""
    # An all-day event's days as the provider names them (first day, day after the last),
    # not bound to any zone: busy-time sync places them in the host's own time zone.
    all_day: tuple[date, date] | None = None


@dataclass(frozen=True)
class BusyChanges:
    """Changes since the last delta read: events to upsert, ids to drop, the link for next time."""

    events: list[BusyEvent]
    removed_ids: list[str]
    delta_link: str


@dataclass(frozen=True)
class RemoteSubscription:
    """A change-notification subscription as the provider granted it."""

    remote_id: str
    expires_at: datetime  # the expiry the provider granted (not necessarily the one asked)
    notification_url: str = ""  # where it notifies (filled in by ``list_subscriptions``)


@dataclass(frozen=True)
class RemoteEvent:
    remote_id: str
    online_meeting_url: str = ""


class CalendarProvider(ABC):
    """One calendar vendor. Instances are cheap and hold no per-host state.

    None of these methods may be called inside a web request except the sign-in
    pair and ``list_calendars`` (the Connect and Refresh actions).

    ``name`` is the product hosts connect ("Office 365"), ``vendor`` whose service
    answers ("Microsoft"). ``concurrent_calls_per_account``: calls one account may get
    at once from all our workers together (None: no limit). ``refresh_token_lifetime``:
    how long a sign-in lasts unused (None: until revoked). The package of a provider
    also holds its own URLs and views (``urls.py``), mounted under
    ``/setup/integration/calendar/<key>/``.
    """

    key: str
    name: str
    vendor: str
    concurrent_calls_per_account: int | None = None
    refresh_token_lifetime: timedelta | None = None
    # Change notifications: whether the provider has them, and the lifetimes in
    # minutes to ask for, longest first (a refusal as too long falls back to the next).
    supports_notifications: bool = False
    notification_lifetimes_minutes: tuple[int, ...] = ()
    # Error codes that mean the account's whole mailbox cannot be reached through the
    # provider (no licence for it, hosted elsewhere): nothing in it is known to be gone.
    mailbox_unreachable_codes: frozenset[str] = frozenset()

    # --- sign-in -------------------------------------------------------------------

    @abstractmethod
    def start_sign_in(self, *, redirect_uri: str, login_hint: str = "") -> SignIn:
        """Begin the authorization code flow (with PKCE); ``login_hint`` pre-fills the account."""

    @abstractmethod
    def finish_sign_in(self, *, flow: dict, response: dict[str, str]) -> Grant:
        """Complete the flow with the provider's answer at the redirect URI.

        Raises ProviderError when the host declined, the state does not match, or
        the provider refused; nothing needs undoing then.
        """

    # --- tokens --------------------------------------------------------------------

    @abstractmethod
    def cached_access_token(self, *, token_state: str, account_id: str) -> str | None:
        """An access token from ``token_state`` that is valid for 5+ minutes, without I/O."""

    @abstractmethod
    def acquire_access_token(
        self, *, token_state: str, account_id: str, force_refresh: bool = False
    ) -> AccessToken:
        """An access token, refreshing through the provider when needed (or when forced).

        The caller holds the connection's lock and stores ``token_state`` if returned.
        Raises ProviderError(permanent=True) when the grant is gone.
        """

    # --- calendars and busy time -----------------------------------------------------

    @abstractmethod
    def account(self, *, access_token: str) -> Account:
        """The signed-in account's profile."""

    @abstractmethod
    def list_calendars(self, *, access_token: str, account: Account) -> CalendarList:
        """Every calendar, split into owned-and-writable and skipped (shared, rooms)."""

    @abstractmethod
    def busy_changes(
        self,
        *,
        access_token: str,
        calendar_id: str,
        start: datetime,
        end: datetime,
        delta_link: str = "",
    ) -> BusyChanges:
        """Changes in [start, end) since ``delta_link`` (everything when empty).

        A delta link the provider no longer knows raises DeltaExpired: start again with
        an empty link.
        """

    # --- events ----------------------------------------------------------------------

    @abstractmethod
    def create_event(
        self,
        *,
        access_token: str,
        calendar_id: str,
        event: EventDescription,
        reminder_minutes: int | None,
        transaction_id: str,
    ) -> RemoteEvent:
        """Create the event; retrying with the same ``transaction_id`` never duplicates it.

        Raises DuplicateKey when the key was used before for a different request, and
        CalendarGone when the calendar no longer exists.
        """

    @abstractmethod
    def update_event(
        self,
        *,
        access_token: str,
        calendar_id: str,
        remote_id: str,
        event: EventDescription,
        reminder_minutes: int | None,
    ) -> RemoteEvent:
        """Make event ``remote_id`` of calendar ``calendar_id`` match ``event``.

        A vanished event raises EventGone.
        """

    @abstractmethod
    def delete_event(self, *, access_token: str, calendar_id: str, remote_id: str) -> None:
        """Delete event ``remote_id`` of calendar ``calendar_id``; already gone counts as done."""

    @abstractmethod
    def find_event(
        self,
        *,
        access_token: str,
        calendar_id: str,
        transaction_id: str,
        start: datetime,
        end: datetime,
    ) -> RemoteEvent | None:
        """The event created with ``transaction_id`` that overlaps [start, end), if any.

        For resolving a create whose answer was lost: did it happen, and as which event?
        Raises CalendarGone when the calendar no longer exists.
        """

    # --- change notifications (only when ``supports_notifications``) ----------------------------

    def subscribe(
        self,
        *,
        access_token: str,
        notification_url: str,
        lifecycle_url: str,
        client_state: str,
        expires_at: datetime,
    ) -> RemoteSubscription:
        """Subscribe to changes of every event of the account; the provider calls both
        URLs first to validate them. Raises LifetimeRefused when ``expires_at`` is too far."""
        raise NotImplementedError

    def renew_subscription(
        self, *, access_token: str, remote_id: str, expires_at: datetime
    ) -> RemoteSubscription:
        """Move the expiry (which also reauthorizes). Raises SubscriptionGone, LifetimeRefused."""
        raise NotImplementedError

    def delete_subscription(self, *, access_token: str, remote_id: str) -> None:
        """Remove the subscription; already gone counts as done."""
        raise NotImplementedError

    def list_subscriptions(self, *, access_token: str) -> list[RemoteSubscription]:
        """Every subscription our app holds for the signed-in account (any deployment of
        the app: tell ours apart by ``notification_url``). A provider that cannot list
        them answers ``[]``: its strays then only expire."""
        return []
