"""Booking pages, their availability rules and questions, and the bookings made on them.

Times of bookings are stored in UTC; the rules of a page are wall-clock times in
the page's own time zone (``BookingPage.time_zone``).
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, router
from django.db.models import signals
from django.utils.translation import gettext_lazy as _

from accounts.models import validate_time_zone
from ops.compiled_inserts import CompiledInsert, insert_rows
from outbox.models import OutboxItem

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# Slugs that would read like part of the product rather than a host's page.
RESERVED_SLUGS = frozenset(
    {
        "about",
        "accounts",
        "admin",
        "api",
        "app",
        "book",
        "booking",
        "bookings",
        "cancel",
        "dashboard",
        "demo-admin",
        "edit",
        "help",
        "healthz",
        "login",
        "logout",
        "new",
        "reschedule",
        "settings",
        "setup",
        "signup",
        "static",
        "support",
        "www",
    }
)
MAX_SLUG_LENGTH = 60
WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def validate_slug(value: str) -> None:
    """Lowercase letters, digits and single hyphens; not a reserved word."""
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s” is reserved; choose another link.") % {"slug": value})


def is_wellformed_slug(value: str) -> bool:
    """Whether ``value`` can be a page's slug at all (checked before querying for it)."""
    return len(value) <= MAX_SLUG_LENGTH and re.fullmatch(SLUG_PATTERN, value) is not None


slug_format = RegexValidator(
    SLUG_PATTERN,
    _("Use lowercase letters, digits and hyphens only (no spaces, no hyphen at either end)."),
)


# The offsets a page may choose for invitee reminders (minutes before the start).
REMINDER_OFFSETS = (
    (15, _("15 minutes before")),
    (60, _("1 hour before")),
    (120, _("2 hours before")),
    (24 * 60, _("1 day before")),
    (2 * 24 * 60, _("2 days before")),
)


def default_reminder_offsets() -> list[int]:
    """1 day and 1 hour before, the default of a new page."""
    return [24 * 60, 60]


def validate_reminder_offsets(value) -> None:
    allowed = {minutes for minutes, _label in REMINDER_OFFSETS}
    if not isinstance(value, list) or any(item not in allowed for item in value):
        raise ValidationError(_("Choose reminders from the list."))


class LocationKind(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    PHONE = "phone", _("Phone call")
    TEAMS = "teams", _("Microsoft Teams meeting")


def location_wording(kind: str, details: str, *, no_join_link: bool = False) -> str:
    """A location as people read it, in the active language: "Phone call: +49 30 1234".

    ``no_join_link``: a Teams meeting whose calendar cannot make one (a personal Microsoft
    account's): the page's details if it has any, else that the link follows.
    """
    if kind == LocationKind.TEAMS and no_join_link:
        if details:
            return str(_("Online meeting: %(details)s")) % {"details": details}
        return str(_("Online meeting (link to follow)"))
    if kind == LocationKind.TEAMS:
        return str(_("Microsoft Teams meeting (the link is in the calendar invitation)"))
    label = str(LocationKind(kind).label)
    return f"{label}: {details}" if details else label


class TeamKind(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin: whoever is free")
    COLLECTIVE = "collective", _("Collective: all together")


class HoursSource(models.TextChoices):
    PAGE = "page", _("The page's hours")
    MEMBERS = "members", _("Each member's own working hours, in their own time zone")


class BookingPage(models.Model):
    # A personal page's owner; for a team page, the admin who made it (its members are
    # ``TeamMember`` rows and the bookings go to them, never to this user as such).
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booking_pages"
    )
    title = models.CharField(max_length=120)
    slug = models.CharField(
        _("public link"),
        max_length=MAX_SLUG_LENGTH,
        unique=True,
        validators=[slug_format, validate_slug],
    )
    description = models.TextField(blank=True, max_length=2000)
    duration_minutes = models.PositiveIntegerField(
        _("meeting duration (minutes)"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(12 * 60)],
    )
    increment_minutes = models.PositiveIntegerField(
        _("slot increment (minutes)"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(12 * 60)],
    )
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    buffer_before_minutes = models.PositiveIntegerField(
        _("buffer before (minutes)"), default=0, validators=[MaxValueValidator(24 * 60)]
    )
    buffer_after_minutes = models.PositiveIntegerField(
        _("buffer after (minutes)"), default=0, validators=[MaxValueValidator(24 * 60)]
    )
    minimum_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"), default=60, validators=[MaxValueValidator(365 * 24 * 60)]
    )
    horizon_days = models.PositiveIntegerField(
        _("booking horizon (days ahead)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )
    max_per_day = models.PositiveIntegerField(
        _("maximum bookings per day"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
    )
    location_kind = models.CharField(
        _("location"), max_length=16, choices=LocationKind.choices, default=LocationKind.TEAMS
    )
    location_details = models.CharField(
        _("location details"),
        max_length=300,
        blank=True,
        help_text=_("The address for in-person meetings, or the number to call for phone calls."),
    )
    is_active = models.BooleanField(_("taking bookings"), default=True)
    main_calendar = models.ForeignKey(
        "calendars.Calendar",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Bookings go here, and its busy time is never offered."),
    )
    # Whether tentative events in the calendars this page reads for busy time block its
    # slots (the sync stores them either way; booking.selectors.busy_intervals_for decides).
    # Set in the page form, under Limits.
    block_tentative = models.BooleanField(default=True)
    # The organization the page belongs to (its host's). Empty team_kind: a personal page.
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="booking_pages",
    )
    team_kind = models.CharField(
        _("team page kind"), max_length=16, choices=TeamKind.choices, blank=True, default=""
    )
    # A team page's hours: its own weekly hours, or each member's ``MemberHours`` (in the
    # member's time zone; the page's date overrides still apply).
    hours_source = models.CharField(
        _("hours"), max_length=8, choices=HoursSource.choices, default=HoursSource.PAGE
    )
    # Minutes before the start at which invitees get an email reminder (any of
    # REMINDER_OFFSETS; empty: none). Planned per booking by ``booking.reminders``.
    reminder_offsets = models.JSONField(
        default=default_reminder_offsets, blank=True, validators=[validate_reminder_offsets]
    )
    # Sites that may embed this page (its confirmation, reschedule and cancel pages too),
    # one origin a line ("https://www.example.com"); blank: any site (ops/csp.py).
    embed_origins = models.TextField(_("sites allowed to embed this page"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return f"{self.title} (/{self.slug})"

    def frame_ancestors(self) -> list[str]:
        """The CSP ``frame-ancestors`` sources of this page: its origins, or any site."""
        return self.embed_origins.split() or ["*"]

    @property
    def location_text(self) -> str:
        """The location as an invitee reads it, in the active language."""
        return location_wording(self.location_kind, self.location_details)


class TeamMember(models.Model):
    """A member of a team page. Round-robin assigns the highest ``priority`` first, then
    the member with the fewest team bookings in the last 30 days divided by ``weight``."""

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="team_members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_seats"
    )
    priority = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    weight = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )

    class Meta:
        ordering = ["-priority", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["page", "user"], name="one_seat_per_team_member")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on page {self.page_id}"


class WeeklyHours(models.Model):
    """One range of bookable wall-clock time on a weekday; a weekday may have several."""

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="weekly_hours")
    weekday = models.PositiveSmallIntegerField(
        choices=WEEKDAYS,
        validators=[MaxValueValidator(6)],
    )
    start = models.TimeField()
    end = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["weekday", "start"]
        verbose_name_plural = "weekly hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class MemberHours(models.Model):
    """One range of a person's own working hours on a weekday, wall-clock time in their
    own time zone (``User.time_zone``). Team pages that use members' hours read them; a
    person without rows works Monday to Friday, 9:00 to 17:00."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS, validators=[MaxValueValidator(6)])
    start = models.TimeField()
    end = models.TimeField(help_text="00:00 means midnight at the end of the day.")

    class Meta:
        ordering = ["user_id", "weekday", "start"]
        verbose_name_plural = "member hours"

    def __str__(self) -> str:
        return f"{self.user_id} {self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class DateOverride(models.Model):
    """Replaces a date's weekly hours: a row without times closes the day."""

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="date_overrides")
    date = models.DateField()
    start = models.TimeField(null=True, blank=True)
    end = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "start"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(start__isnull=True) & models.Q(end__isnull=True))
                | (models.Q(start__isnull=False) & models.Q(end__isnull=False)),
                name="override_closed_or_both_times",
            )
        ]

    def __str__(self) -> str:
        if self.start is None:
            return f"{self.date} closed"
        return f"{self.date} {self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def is_closed(self) -> bool:
        return self.start is None


class QuestionKind(models.TextChoices):
    TEXT = "text", _("Text")
    CHOICE = "choice", _("Choice")
    PHONE = "phone", _("Phone number")


class Question(models.Model):
    """A custom question on the booking form; name and email are always asked.

    The booking API takes its answer under the question's id, as a string.
    """

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=QuestionKind.choices, default=QuestionKind.TEXT)
    required = models.BooleanField(default=False)
    options = models.JSONField(default=list, blank=True)  # choices, for kind == choice
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label


class PageCalendar(models.Model):
    """How a booking page uses one of its host's calendars besides the main one."""

    page = models.ForeignKey(BookingPage, on_delete=models.CASCADE, related_name="calendar_uses")
    calendar = models.ForeignKey(
        "calendars.Calendar", on_delete=models.CASCADE, related_name="page_uses"
    )
    retrieve_busy = models.BooleanField("retrieve busy time", default=False)
    add_bookings = models.BooleanField("add bookings", default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page", "calendar"], name="one_use_per_page_calendar")
        ]

    def __str__(self) -> str:
        return f"{self.page_id} uses {self.calendar_id}"


def search_fold(text: str) -> str:
    """``text`` lowercased and without accents, as Setup → Meetings searches it
    ("José Müller" → "jose muller")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():  # no accents to drop (most names and every address)
        return decomposed
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def booking_search_text(name: str, email: str) -> str:
    return search_fold(f"{name} {email}")[:420]


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"


class Booking(CompiledInsert):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Kept when the page is deleted, so invitees can still cancel from their link.
    page = models.ForeignKey(
        BookingPage, null=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookings"
    )
    title = models.CharField(max_length=120)  # the page title when booked
    # The page's location when booked, as facts (worded when shown, in the reader's
    # language: ``location_text``); ``location`` is the text in the language of the
    # booking's moment, the only record for bookings older than the facts (kind "").
    location = models.CharField(max_length=400, blank=True)
    location_kind = models.CharField(
        max_length=16, choices=LocationKind.choices, blank=True, default=""
    )
    location_details = models.CharField(max_length=300, blank=True, default="")
    # A Teams page's booking whose calendar cannot make Teams meetings (a personal
    # Microsoft account's): no join link comes, and its location says the link follows.
    no_join_link = models.BooleanField(default=False)
    start = models.DateTimeField()
    end = models.DateTimeField()
    invitee_name = models.CharField(max_length=150)
    invitee_email = models.EmailField(max_length=254)
    invitee_time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    # The invitee's locale ("en-US", "en-GB", "de-DE"): the clock, the date style and the
    # language of every page and email about this booking (booking.locales).
    invitee_locale = models.CharField(max_length=16, default="en-US")
    # [{"question": label, "answer": text}, …] in the page's question order.
    answers = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED
    )
    cancel_reason = models.CharField(max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # iCalendar SEQUENCE: bumped on every reschedule and on cancellation.
    sequence = models.PositiveIntegerField(default=0)
    rescheduled_from_start = models.DateTimeField(null=True, blank=True)
    # Set by the host on a meeting that has started (Setup → Meetings → Mark no-show).
    no_show_at = models.DateTimeField(null=True, blank=True)
    # The invitee's name and email folded for search (``search_fold``), set on save.
    search_text = models.CharField(max_length=420, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["host", "status", "start"]),
            # Setup → Meetings: its tab counts and the ids of a page of results are read from
            # this index alone on PostgreSQL (an index-only scan); elsewhere it is plain.
            models.Index(
                fields=["host", "status", "start"],
                include=["end", "id"],
                name="booking_meetings_tabs",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="ends_later")
        ]

    def __str__(self) -> str:
        return f"{self.title} with {self.invitee_name} at {self.start:%Y-%m-%d %H:%M} UTC"

    def save(self, *args, **kwargs) -> None:
        self.search_text = booking_search_text(self.invitee_name, self.invitee_email)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)

    def insert(self, *, using: str | None = None) -> None:
        """Write this new booking as ``save(force_insert=True)`` writes it: the same
        compiled INSERT, with ``pre_save`` and ``post_save`` sent around it (the
        availability cache's version bump listens), without ``save``'s other steps
        (parents, update-or-insert, field checks a new row of this model never needs).
        For the booking POST."""
        self.search_text = booking_search_text(self.invitee_name, self.invitee_email)
        model = type(self)
        using = using or router.db_for_write(model, instance=self)
        signals.pre_save.send(
            sender=model, instance=self, raw=False, using=using, update_fields=None
        )
        insert_rows([self], using=using)
        signals.post_save.send(
            sender=model, instance=self, created=True, update_fields=None, raw=False, using=using
        )

    @property
    def location_text(self) -> str:
        """Where the meeting is, worded in the active language; a booking older than the
        stored facts shows its text as kept."""
        if not self.location_kind:
            return self.location
        return location_wording(
            self.location_kind, self.location_details, no_join_link=self.no_join_link
        )

    @property
    def is_confirmed(self) -> bool:
        return self.status == BookingStatus.CONFIRMED

    @property
    def mirror_source(self) -> str:
        """The outbox key of this booking's calendar events."""
        return f"booking:{self.uuid}"


class BookingCohost(models.Model):
    """A member who attends a collective booking besides its ``host`` (the organizer).

    Their time is taken as surely as the host's: every slot query and re-check counts
    the booking against them too (``booking.selectors.host_bookings_between``).
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="cohosts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cohosted_bookings"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["booking", "user"], name="one_cohost_row_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} also hosts booking {self.booking_id}"


class EmailState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class BookingEmail(CompiledInsert, OutboxItem):
    """The outbox row of one booking event's emails, to the invitee and to the host.

    Written in the transaction that changed the booking (``booking.email_outbox``);
    each recipient's ``*_sent_at`` is recorded as soon as that email left, so a retry
    sends only what is still owed.
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=16)  # booking.events.BookingEventKind
    actor = models.CharField(max_length=16)  # booking.events.Actor
    # The booking's ``sequence`` when the event happened.
    booking_version = models.PositiveIntegerField(default=0)
    # The host's note of an "ask to reschedule" email (kind ``ask_reschedule``).
    note = models.CharField(max_length=1000, blank=True, default="")
    # A join-link email's link (kinds ``join_link`` and ``join_link_change``): the SHA-256
    # hex digest of the join URL it announces ("" on rows written before it was kept); a
    # confirmation's (kind ``confirmed``), the link it carries; a ``join_link_drop``
    # email's, the link that no longer works.
    link_digest = models.CharField(max_length=64, blank=True, default="")
    # A move that gave a round-robin meeting to another member: who had it (the emails
    # say the meeting changed hands, and the new member reads it as theirs).
    previous_host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    invitee_sent_at = models.DateTimeField(null=True, blank=True)
    host_sent_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=EmailState.choices, default=EmailState.PENDING)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        # The database makes the join-link emails once-only (``booking.email_outbox``):
        # one first link per booking, and one email per link it ever announces.
        constraints = [
            models.UniqueConstraint(
                fields=["booking"],
                condition=models.Q(kind="join_link"),
                name="one_join_link_email_per_booking",
            ),
            models.UniqueConstraint(
                fields=["booking", "link_digest"],
                condition=models.Q(kind__in=["join_link", "join_link_change"])
                & ~models.Q(link_digest=""),
                name="one_email_per_join_link",
            ),
            # One "no Teams link any more" email per link dropped.
            models.UniqueConstraint(
                fields=["booking", "link_digest"],
                condition=models.Q(kind="join_link_drop"),
                name="one_email_per_dropped_link",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} emails of booking {self.booking_id} ({self.state})"


class BookingChange(CompiledInsert):
    """One line of a booking's history: made, moved, cancelled, marked no-show; by whom, when.

    Written by ``booking.history`` from the booking event, in the booking's own transaction.
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=16)  # a booking.events.BookingEventKind, or "no_show"
    actor = models.CharField(max_length=16)  # booking.events.Actor
    version = models.PositiveIntegerField(default=0)
    start = models.DateTimeField()  # the booking's start after the change
    previous_start = models.DateTimeField(null=True, blank=True)  # for a move
    reason = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} of booking {self.booking_id} by {self.actor}"


class ReminderState(models.TextChoices):
    PENDING = "pending", _("Planned")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not sent")
    FAILED = "failed", _("Failed")


class InviteeReminder(OutboxItem):
    """One email reminder to an invitee: one row per booking, booking version and offset.

    Planned (``booking.reminders``) in the transaction that confirms or moves the
    booking; due at ``due_at`` (also its ``next_attempt_at`` until a retry moves that).
    The unique constraint is what makes it exactly one email: a worker claims the row
    (a conditional UPDATE, ``outbox.claims``) before sending and settles it after.
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="reminders")
    booking_version = models.PositiveIntegerField()
    offset_minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    state = models.CharField(
        max_length=16, choices=ReminderState.choices, default=ReminderState.PENDING
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # Why it was not sent (cancelled, moved, booked too late, the meeting had started).
    skip_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "booking_version", "offset_minutes"],
                name="one_reminder_per_booking_version_offset",
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"reminder {self.offset_minutes} min before booking {self.booking_id} ({self.state})"

    @property
    def offset_label(self) -> str:
        """ "1 day before", as the page form names the offset."""
        labels = dict(REMINDER_OFFSETS)
        if self.offset_minutes in labels:
            return str(labels[self.offset_minutes])
        return _("%(minutes)s minutes before") % {"minutes": self.offset_minutes}
