"""Office 365 through MSAL's confidential client and Microsoft Graph v1.0."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote

import msal
import requests
from django.conf import settings
from django.utils.translation import gettext as _
from msal.exceptions import MsalServiceError

from calendars.events import EventDescription
from calendars.providers.base import (
    AccessToken,
    Account,
    BusyChanges,
    BusyEvent,
    CalendarGone,
    CalendarList,
    CalendarProvider,
    CreateConflict,
    DeltaExpired,
    DuplicateKey,
    EventGone,
    Grant,
    LifetimeRefused,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
    RemoteSubscription,
    SignIn,
    SubscriptionGone,
)
from calendars.providers.office365 import online_body, payloads
from calendars.providers.office365.graph import (
    MAILBOX_UNREACHABLE_CODES,
    GraphClient,
    is_missing,
)
from calendars.providers.office365.limits import (
    MAILBOX_CONCURRENCY,
    REFRESH_TOKEN_LIFETIME,
    SUBSCRIPTION_LIFETIMES_MINUTES,
)
from calendars.providers.office365.msal_app import (
    SCOPES,
    RetryAfterWatch,
    build_msal_app,
    scopes_as_granted,
)

logger = logging.getLogger(__name__)

# Refusal codes that mean "the sign-in ran out: sign in again" rather than "taken away"
# (Microsoft's error-code reference): 700082 and 70008 unused too long, 50173
# FreshTokenNeeded ("have the user sign in again", e.g. after a password change), 70043
# BadTokenDueToInteractionRequired (a Conditional Access sign-in frequency ran out).
EXPIRED_CODES = frozenset({700082, 70008, 50173, 70043})
# The app's client secret is no longer accepted (Microsoft's error-code reference:
# 7000222 InvalidClientSecretExpiredKeysProvided, 7000215 InvalidClientSecretProvided):
# an operator must put a new one in place.
SECRET_GONE_CODES = frozenset({7000222, 7000215})
# Answers at the redirect URI that mean the person chose not to connect.
DECLINED_ERRORS = frozenset({"access_denied", "consent_required"})
# AADSTS numbers at the redirect URI that mean only an administrator can consent
# (Microsoft's error code reference: 90094 AdminConsentRequired, 90095
# AdminConsentRequiredRequestAccess; Entra's consent troubleshooting page: 900941
# AdminConsentRequiredDueToRiskyApp): asking the host again will not help.
ADMIN_CONSENT_CODES = frozenset({90094, 90095, 900941})
# Answers that mean Microsoft's sign-in service itself had trouble: worth a retry.
UNAVAILABLE_ERRORS = frozenset({"server_error", "temporarily_unavailable"})
# Answers that mean the person must finish signing in (MFA, Conditional Access).
INTERACTION_ERRORS = frozenset({"interaction_required", "login_required"})
# Token endpoint answers that end the stored sign-in: the host must sign in (and consent)
# again. Microsoft's error-code reference: interaction_required and consent_required
# (non-standard there, but sent) mean "send the user back to /authorize".
GRANT_GONE_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})
# What an OAuth error code looks like; anything else in ``error`` is not echoed anywhere.
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_AADSTS = re.compile(r"\bAADSTS(\d{1,9})\b")
UTC_PREFER = 'outlook.timezone="UTC"'
MIN_TOKEN_LIFETIME = 5 * 60  # MSAL's own rule: an access token this close to expiry is stale


def _graph_instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _calendar_path(calendar_id: str) -> str:
    return f"/me/calendars/{quote(calendar_id, safe='')}"


def _event_path(remote_id: str) -> str:
    return f"/me/events/{quote(remote_id, safe='')}"


def _load_cache(token_state: str) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    if token_state:
        try:
            cache.deserialize(token_state)
        except ValueError:
            raise ProviderError(
                "The stored sign-in is unreadable.", permanent=True, code="corrupt_cache"
            ) from None
    return cache


def _access_tokens(cache: msal.TokenCache, account_id: str) -> list[dict]:
    """The account's cached access tokens for our scopes, however the answer spelled them."""
    entries = cache.search(
        msal.TokenCache.CredentialType.ACCESS_TOKEN,
        query={"home_account_id": account_id, "client_id": settings.MS_CLIENT_ID},
    )
    return [entry for entry in entries if scopes_as_granted(entry.get("target", ""))]


def _scopes_as_cached(cache: msal.TokenCache, account_id: str) -> list[str]:
    """Our scopes as the account's cached access token spells them (MSAL matches them
    literally), so MSAL reuses it; ``SCOPES`` when there is none."""
    for entry in _access_tokens(cache, account_id):
        return scopes_as_granted(entry["target"]) or SCOPES
    return SCOPES


def _refresh_fingerprint(cache: msal.TokenCache, account_id: str) -> str:
    """A digest of the account's refresh tokens, to notice that a refresh rotated them."""
    secrets = sorted(
        entry.get("secret", "")
        for entry in cache.search(
            msal.TokenCache.CredentialType.REFRESH_TOKEN,
            query={"home_account_id": account_id},
        )
    )
    return hashlib.sha256("\n".join(secrets).encode()).hexdigest()


def token_error(
    result: dict,
    *,
    what: str = "the stored sign-in",
    for_host: bool = False,
    retry_after: float | None = None,
) -> ProviderError:
    """Map an error answer of Microsoft's token endpoint (as MSAL returns it).

    ``for_host``: the host is signing in right now, and sees the message as written.
    ``retry_after``: the answer's Retry-After in seconds, kept on a temporary error.
    """
    error = str(result.get("error") or "unknown_error")
    codes = [
        int(c) for c in map(str, result.get("error_codes") or []) if c.isascii() and c.isdigit()
    ]
    numbers = ", ".join(f"AADSTS{code}" for code in codes)
    detail = f"{error}" + (f" ({numbers})" if numbers else "")
    if error in GRANT_GONE_ERRORS:
        # Whichever error carries them (70043 may come as interaction_required).
        expired = any(code in EXPIRED_CODES for code in codes)
        return ProviderError(
            _("Microsoft refused the sign-in: %(detail)s.") % {"detail": detail}
            if for_host
            else f"Microsoft refused {what}: {detail}.",
            permanent=True,
            status=400,
            code=error,
            reason="expired" if expired else "revoked",
            for_host=for_host,
        )
    if error == "temporarily_unavailable":
        return ProviderError(
            _("Microsoft's sign-in service is busy: %(detail)s.") % {"detail": detail}
            if for_host
            else f"Microsoft's sign-in service is busy: {detail}.",
            code=error,
            for_host=for_host,
            retry_after=retry_after,
        )
    # invalid_client and friends: our app registration is at fault, not the host's grant.
    if any(code in SECRET_GONE_CODES for code in codes):
        logger.error(
            "Microsoft no longer accepts our client secret (%s): set a new MS_CLIENT_SECRET "
            "from the app registration",
            detail,
        )
    else:
        logger.error("Microsoft's token endpoint refused our request: %s", detail)
    return ProviderError(
        _(
            "Microsoft refused ScheduleOnce's own sign-in (%(detail)s). The problem is on "
            "our side, not with your account. Please try again later."
        )
        % {"detail": detail}
        if for_host
        else f"Microsoft's token endpoint answered {detail}.",
        code=error,
        for_host=for_host,
        retry_after=retry_after,
    )


def authorize_error(response: dict[str, str]) -> ProviderError:
    """Map an error Microsoft sent to the redirect URI (``error``, ``error_description``).

    Both fields arrive from the browser, so neither is repeated as sent: the code only
    when it looks like an OAuth error code, and of the description only its AADSTS
    number (for support).
    """
    raw = str(response.get("error", ""))
    code = raw if _ERROR_CODE.fullmatch(raw) else "unknown_error"
    found = _AADSTS.search(str(response.get("error_description", ""))[:4000])
    detail = code + (f", AADSTS{found.group(1)}" if found else "")
    if found and int(found.group(1)) in ADMIN_CONSENT_CODES:
        return ProviderError(
            _(
                "Your organisation lets only its administrator allow apps to use your "
                "calendar (%(detail)s). Ask your Microsoft 365 administrator to grant "
                "ScheduleOnce consent, then connect again."
            )
            % {"detail": detail},
            code=code,
            for_host=True,
        )
    if code in DECLINED_ERRORS:
        if response.get("error_subcode") == "cancel":  # the person pressed Cancel
            return ProviderError(
                _("You cancelled signing in with Microsoft."), code=code, for_host=True
            )
        return ProviderError(_("You did not give permission to connect."), code=code, for_host=True)
    if code in UNAVAILABLE_ERRORS:
        return ProviderError(
            _(
                "Microsoft's sign-in service had a problem (%(detail)s). "
                "Please try again in a minute."
            )
            % {"detail": detail},
            code=code,
            for_host=True,
        )
    if code in INTERACTION_ERRORS:
        return ProviderError(
            _(
                "Microsoft needs you to finish signing in, for example a second sign-in step "
                "your organisation asks for (%(detail)s). Please connect again."
            )
            % {"detail": detail},
            code=code,
            for_host=True,
        )
    return ProviderError(
        _("Microsoft could not sign you in (%(detail)s).") % {"detail": detail},
        code=code,
        for_host=True,
    )


# Graph's answers that mean something callers act on.
DUPLICATE_TRANSACTION = "ErrorDuplicateTransactionId"
# A delta link Graph no longer knows: "410 Gone" (a reset after maintenance), or, when an
# Outlook delta token expired, "a 40X-series error with error codes such as
# syncStateNotFound" (Microsoft's "Use delta query" page, Token duration); seen as 400.
EXPIRED_DELTA_STATUS = 410
EXPIRED_DELTA_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired"})


def _calendar_error(error: ProviderError) -> ProviderError:
    """A call on a calendar: 404 means the calendar is gone (deleted in Outlook), unless
    it is about the whole mailbox (then the calendar may well come back)."""
    return error.as_kind(CalendarGone) if error.status == 404 and is_missing(error) else error


def _create_error(error: ProviderError) -> ProviderError:
    """A create: the key used for another request, or another 409 (a conflict with, say, a
    retried sending of the same create still being made): both ask for a look-up by key."""
    if error.code == DUPLICATE_TRANSACTION:
        return error.as_kind(DuplicateKey)
    if error.status == 409:
        return error.as_kind(CreateConflict)
    return _calendar_error(error)


def _keep_meeting_in_body(graph: GraphClient, remote_id: str, body: dict) -> None:
    """Make the PATCH ``body`` keep the event's online meeting: Graph turns the meeting
    off when a new body drops its join information ("Update event"), so the event's body
    is read first and ours is left out, or sent with the meeting's details kept
    (``online_body``)."""
    current = graph.get(_event_path(remote_id), params={"$select": "body,onlineMeeting"})
    meeting = current.get("onlineMeeting") or {}
    kept = online_body.body_for_update(
        text=body["body"]["content"],
        current=current.get("body") or {},
        join_url=str(meeting.get("joinUrl") or ""),
    )
    if kept is None:
        del body["body"]
    else:
        body["body"] = kept


def _event_error(error: ProviderError) -> ProviderError:
    """A call on one event: 404 or 410 means the event is gone (deleted in Outlook), unless
    it is about the whole mailbox: made again then, the event would be there twice once
    the mailbox is back."""
    return error.as_kind(EventGone) if is_missing(error) else error


def _delta_error(error: ProviderError) -> ProviderError:
    """A delta read: a forgotten link means a full read, whichever 4xx says so."""
    status = error.status or 0
    expired = status == EXPIRED_DELTA_STATUS or (
        400 <= status < 500 and error.code.lower() in EXPIRED_DELTA_CODES
    )
    if expired:
        return error.as_kind(DeltaExpired)
    return _calendar_error(error)


# What a delta item must name to be busy time without a guess: its times, and whether it
# blocks, lasts whole days or was cancelled (an absent showAs would read as busy).
BUSY_PROPERTIES = ("start", "end", "showAs", "isAllDay", "isCancelled")


def _busy_item(item: dict, *, following: bool) -> BusyEvent:
    """A delta item as busy time. An update may name "at least the properties that have
    been updated" (Microsoft's delta query page): one without all of ``BUSY_PROPERTIES``,
    met while following a delta link, asks for a full read rather than a guess."""
    if following and any(name not in item for name in BUSY_PROPERTIES):
        raise DeltaExpired(
            "Graph sent a changed event without all it needs; reading the window again.",
            code="PartialChange",
        )
    if "start" not in item or "end" not in item:
        raise ProviderError("Graph sent an event without its times.", code="InvalidResponse")
    return payloads.busy_event(item)


def _subscription_error(error: ProviderError) -> ProviderError:
    """A create or renewal: 404 means the subscription is gone, unless it is about the
    whole mailbox (``MailboxNotEnabledForRESTAPI``: Graph answers every call for the
    mailbox so while its licence is away, and a new subscription would fail the same);
    a 400 about the expiry means the lifetime is over Graph's cap (4,230 or 10,080
    minutes, by page)."""
    if error.status == 404 and is_missing(error):
        return error.as_kind(SubscriptionGone)
    if error.status == 400 and "expiration" in error.message.lower():
        return error.as_kind(LifetimeRefused)
    return error


def _subscription(item: dict) -> RemoteSubscription:
    try:
        expires = payloads.instant(str(item["expirationDateTime"]))
        return RemoteSubscription(remote_id=str(item["id"]), expires_at=expires)
    except (KeyError, ValueError):
        raise ProviderError(
            "Graph answered a subscription without id or expiry.", code="InvalidResponse"
        ) from None


# Every event of the mailbox: the only events resource Microsoft documents for change
# notifications (``outlook-change-notifications-overview``); a notification then means
# "this mailbox changed" and the busy calendars are read through their delta links.
SUBSCRIPTION_RESOURCE = "me/events"
SUBSCRIPTION_CHANGES = "created,updated,deleted"


def _transport_error(error: Exception, *, retry_after: float | None = None) -> ProviderError:
    """``retry_after``: the Retry-After of the 5xx answer MSAL raised for, if any."""
    if isinstance(error, requests.Timeout):
        return ProviderError("Microsoft's sign-in service timed out.", code="Timeout")
    if isinstance(error, MsalServiceError):
        return ProviderError(
            "Microsoft's sign-in service had an error.",
            code="ServerError",
            retry_after=retry_after,
        )
    return ProviderError(
        f"Microsoft's sign-in service could not be reached ({type(error).__name__}).",
        code="ConnectionError",
    )


def _owned(calendar: RemoteCalendar, addresses: set[str]) -> bool:
    """Whether the signed-in user made ``calendar`` and may write to it.

    Graph's calendar resource: ``owner`` is set "if set" only, and names the user for
    their own calendars; "only the user who created the calendar can share it"
    (``canShare``); the default calendar is the user's own. So an own calendar whose
    ``owner`` is missing or names another of the user's addresses (a personal
    Microsoft account's calendar may name its outlook.com alias, not the sign-in
    address) is still the user's; a shared, delegated or room calendar is none of these.
    """
    if not calendar.can_edit:
        return False
    return calendar.owner_address.lower() in addresses or calendar.is_default or calendar.can_share


class Office365Provider(CalendarProvider):
    key = "office365"
    name = "Office 365"
    vendor = "Microsoft"
    concurrent_calls_per_account = MAILBOX_CONCURRENCY
    refresh_token_lifetime = REFRESH_TOKEN_LIFETIME
    supports_notifications = True
    notification_lifetimes_minutes = SUBSCRIPTION_LIFETIMES_MINUTES
    mailbox_unreachable_codes = MAILBOX_UNREACHABLE_CODES

    # --- MSAL -----------------------------------------------------------------------------

    def _app(
        self,
        *,
        token_cache: msal.TokenCache | None = None,
        watch: RetryAfterWatch | None = None,
    ):
        try:
            return build_msal_app(token_cache=token_cache, http_client=watch)
        except (requests.RequestException, MsalServiceError) as error:
            raise _transport_error(error) from None
        except ValueError:
            raise ProviderError(
                "Microsoft's sign-in configuration could not be read (check MS_AUTHORITY).",
                code="discovery_failed",
            ) from None

    def start_sign_in(self, *, redirect_uri: str, login_hint: str = "") -> SignIn:
        flow = self._app().initiate_auth_code_flow(
            scopes=SCOPES,
            redirect_uri=redirect_uri,
            response_mode="form_post",
            login_hint=login_hint or None,
        )
        return SignIn(url=flow["auth_uri"], state=flow["state"], flow=flow)

    def finish_sign_in(self, *, flow: dict, response: dict[str, str]) -> Grant:
        if not flow.get("state") or response.get("state") != flow.get("state"):
            raise ProviderError(
                _("The answer from Microsoft does not belong to this sign-in."),
                code="state_mismatch",
                for_host=True,
            )
        if response.get("error"):
            raise authorize_error(response)
        if not response.get("code"):
            raise ProviderError(
                _("Microsoft's answer has no authorization code."), code="no_code", for_host=True
            )
        cache = msal.SerializableTokenCache()
        watch = RetryAfterWatch()
        app = self._app(token_cache=cache, watch=watch)
        try:
            result = app.acquire_token_by_auth_code_flow(dict(flow), dict(response))
        except RuntimeError:  # the id_token's nonce is not ours
            raise ProviderError(
                _("Microsoft's answer could not be verified."),
                code="nonce_mismatch",
                for_host=True,
            ) from None
        except (requests.RequestException, MsalServiceError) as error:
            raise _transport_error(error, retry_after=watch.retry_after) from None
        except ValueError:
            raise ProviderError(
                _("Microsoft's answer could not be read."), code="invalid_response", for_host=True
            ) from None
        if "error" in result:
            raise token_error(
                result, what="the sign-in", for_host=True, retry_after=watch.retry_after
            )
        accounts = app.get_accounts()
        if len(accounts) != 1 or "access_token" not in result:
            raise ProviderError(
                _("Microsoft did not identify the account (no client_info)."),
                code="no_account",
                for_host=True,
            )
        claims = result.get("id_token_claims") or {}
        profile = self.account(access_token=result["access_token"])
        addresses = set(profile.addresses)
        if claims.get("preferred_username"):
            addresses.add(str(claims["preferred_username"]).lower())
        account = Account(
            account_id=accounts[0]["home_account_id"],
            email=profile.email or str(claims.get("preferred_username", "")),
            name=profile.name or str(claims.get("name", "")),
            addresses=frozenset(addresses),
        )
        return Grant(
            account=account, token_state=cache.serialize(), access_token=result["access_token"]
        )

    # --- tokens ---------------------------------------------------------------------------

    def cached_access_token(self, *, token_state: str, account_id: str) -> str | None:
        cache = _load_cache(token_state)
        now = time.time()
        for entry in _access_tokens(cache, account_id):
            if int(entry.get("expires_on", 0)) - now >= MIN_TOKEN_LIFETIME:
                return entry["secret"]
        return None

    def acquire_access_token(
        self, *, token_state: str, account_id: str, force_refresh: bool = False
    ) -> AccessToken:
        cache = _load_cache(token_state)
        before = _refresh_fingerprint(cache, account_id)
        watch = RetryAfterWatch()
        app = self._app(token_cache=cache, watch=watch)
        account = next(
            (a for a in app.get_accounts() if a.get("home_account_id") == account_id), None
        )
        if account is None:
            raise ProviderError(
                "There is no stored sign-in for this account.",
                permanent=True,
                code="no_account",
            )
        try:
            result = app.acquire_token_silent_with_error(
                _scopes_as_cached(cache, account_id), account, force_refresh=force_refresh
            )
        except (requests.RequestException, MsalServiceError) as error:
            raise _transport_error(error, retry_after=watch.retry_after) from None
        except ValueError:
            raise ProviderError(
                "Microsoft's token answer could not be read.", code="invalid_response"
            ) from None
        if result is None:
            raise ProviderError(
                "The stored sign-in has no refresh token.", permanent=True, code="no_refresh_token"
            )
        if "error" in result:
            raise token_error(result, retry_after=watch.retry_after)
        return AccessToken(
            token=result["access_token"],
            token_state=cache.serialize() if cache.has_state_changed else None,
            refresh_rotated=_refresh_fingerprint(cache, account_id) != before,
        )

    # --- Graph ------------------------------------------------------------------------------

    @staticmethod
    def _graph(access_token: str) -> GraphClient:
        return GraphClient(access_token=access_token)

    def account(self, *, access_token: str) -> Account:
        me = self._graph(access_token).get(
            "/me", params={"$select": "id,displayName,mail,userPrincipalName"}
        )
        addresses = {str(me[k]).lower() for k in ("mail", "userPrincipalName") if me.get(k)}
        return Account(
            account_id=str(me.get("id", "")),
            email=str(me.get("mail") or me.get("userPrincipalName") or ""),
            name=str(me.get("displayName") or ""),
            addresses=frozenset(addresses),
        )

    def list_calendars(self, *, access_token: str, account: Account) -> CalendarList:
        owned, skipped = [], []
        addresses = {address.lower() for address in account.addresses | {account.email}}
        for item in self._graph(access_token).items("/me/calendars", params={"$top": "100"}):
            calendar = payloads.remote_calendar(item)
            (owned if _owned(calendar, addresses) else skipped).append(calendar)
        return CalendarList(owned=owned, skipped=skipped)

    def busy_changes(
        self,
        *,
        access_token: str,
        calendar_id: str,
        start: datetime,
        end: datetime,
        delta_link: str = "",
    ) -> BusyChanges:
        graph = self._graph(access_token)
        headers = {"Prefer": f"{UTC_PREFER}, odata.maxpagesize=200"}
        if delta_link:
            pages = graph.pages(delta_link, headers=headers)
        else:
            pages = graph.pages(
                f"{_calendar_path(calendar_id)}/calendarView/delta",
                params={"startDateTime": _graph_instant(start), "endDateTime": _graph_instant(end)},
                headers=headers,
            )
        # Each event's last word in this round wins: Microsoft's delta query page warns that
        # one item "can show up anywhere in the @odata.nextLink sequence", more than once
        # (changed, then removed or back in the window), and that rounds replay changes.
        latest: dict[str, BusyEvent | None] = {}
        next_delta = ""
        try:
            for page in pages:
                for item in page.get("value", []):
                    remote_id = str(item.get("id") or "")
                    if not remote_id:
                        raise ProviderError(
                            "Graph sent a delta item without an id.", code="InvalidResponse"
                        )
                    latest.pop(remote_id, None)
                    if "@removed" in item:
                        latest[remote_id] = None
                    else:
                        latest[remote_id] = _busy_item(item, following=bool(delta_link))
                next_delta = page.get("@odata.deltaLink", next_delta)
        except ProviderError as error:
            raise _delta_error(error) from None
        if not next_delta:
            raise ProviderError("Graph ended a delta read without a deltaLink.", code="NoDeltaLink")
        return BusyChanges(
            events=[event for event in latest.values() if event is not None],
            removed_ids=[remote_id for remote_id, event in latest.items() if event is None],
            delta_link=next_delta,
        )

    def create_event(
        self,
        *,
        access_token: str,
        calendar_id: str,
        event: EventDescription,
        reminder_minutes: int | None,
        transaction_id: str,
    ) -> RemoteEvent:
        body = payloads.event_body(
            event, reminder_minutes=reminder_minutes, transaction_id=transaction_id
        )
        try:
            item = self._graph(access_token).post(
                f"{_calendar_path(calendar_id)}/events", json=body
            )
        except ProviderError as error:
            raise _create_error(error) from None
        return payloads.remote_event(item)

    def update_event(
        self,
        *,
        access_token: str,
        calendar_id: str,
        remote_id: str,
        event: EventDescription,
        reminder_minutes: int | None,
    ) -> RemoteEvent:
        # An event id names one event in the whole mailbox: Graph needs no calendar here.
        body = payloads.event_body(event, reminder_minutes=reminder_minutes)
        graph = self._graph(access_token)
        try:
            if event.online_meeting:
                _keep_meeting_in_body(graph, remote_id, body)
            item = graph.patch(_event_path(remote_id), json=body)
        except ProviderError as error:
            raise _event_error(error) from None
        return payloads.remote_event(item or {"id": remote_id})

    def delete_event(self, *, access_token: str, calendar_id: str, remote_id: str) -> None:
        self._graph(access_token).delete(_event_path(remote_id), missing_ok=True)

    def find_event(
        self,
        *,
        access_token: str,
        calendar_id: str,
        transaction_id: str,
        start: datetime,
        end: datetime,
    ) -> RemoteEvent | None:
        # Graph cannot $filter on transactionId, but calendarView returns it: read the
        # (short) window the event was created for and pick it out.
        items = self._graph(access_token).items(
            f"{_calendar_path(calendar_id)}/calendarView",
            params={
                "startDateTime": _graph_instant(start),
                "endDateTime": _graph_instant(end),
                "$select": "id,transactionId,onlineMeeting",
                "$top": "500",
            },
            headers={"Prefer": UTC_PREFER},
        )
        try:
            for item in items:
                if item.get("transactionId") == transaction_id:
                    return payloads.remote_event(item)
        except ProviderError as error:
            raise _calendar_error(error) from None
        return None

    # --- change notifications ----------------------------------------------------------------

    def subscribe(
        self,
        *,
        access_token: str,
        notification_url: str,
        lifecycle_url: str,
        client_state: str,
        expires_at: datetime,
    ) -> RemoteSubscription:
        body = {
            "changeType": SUBSCRIPTION_CHANGES,
            "notificationUrl": notification_url,
            "lifecycleNotificationUrl": lifecycle_url,
            "resource": SUBSCRIPTION_RESOURCE,
            "expirationDateTime": _graph_instant(expires_at),
            "clientState": client_state,
            "latestSupportedTlsVersion": "v1_2",
        }
        try:
            item = self._graph(access_token).post("/subscriptions", json=body)
        except ProviderError as error:
            raise _subscription_error(error) from None
        return _subscription(item)

    def renew_subscription(
        self, *, access_token: str, remote_id: str, expires_at: datetime
    ) -> RemoteSubscription:
        try:
            item = self._graph(access_token).patch(
                f"/subscriptions/{quote(remote_id, safe='')}",
                json={"expirationDateTime": _graph_instant(expires_at)},
            )
        except ProviderError as error:
            raise _subscription_error(error) from None
        return _subscription(item)

    def delete_subscription(self, *, access_token: str, remote_id: str) -> None:
        self._graph(access_token).delete(
            f"/subscriptions/{quote(remote_id, safe='')}", missing_ok=True
        )

    def list_subscriptions(self, *, access_token: str) -> list[RemoteSubscription]:
        # Delegated: Graph lists the subscriptions this app made for the signed-in user.
        items = self._graph(access_token).items("/subscriptions")
        return [
            replace(_subscription(item), notification_url=str(item.get("notificationUrl") or ""))
            for item in items
        ]
