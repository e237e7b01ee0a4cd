"""Hosts: the people who sign up, connect a calendar and publish booking pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.timezones import is_time_zone
from outbox.models import OutboxItem


def validate_time_zone(value: str) -> None:
    if not is_time_zone(value):
        raise ValidationError(f"{value!r} is not a known time zone.")


class HostManager(UserManager):
    """Users log in with their email address; there is no separate username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str):
        # Email addresses are matched without regard to case at login.
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # Setup's language; blank: the browser's (Accept-Language). ops/language.py applies it.
    language = models.CharField(
        _("language"), max_length=8, blank=True, choices=settings.LANGUAGES, default=""
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Which per-booking emails the host gets (Setup → Profile); all on by default.
    notify_booked = models.BooleanField(_("a meeting is booked"), default=True)
    notify_rescheduled = models.BooleanField(_("a meeting is rescheduled"), default=True)
    notify_cancelled = models.BooleanField(_("a meeting is cancelled"), default=True)

    objects = HostManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        # Log-in matches emails without regard to case, so they are stored in one case
        # (as create_user does), and the unique check then refuses the same address twice.
        super().clean()
        self.email = self.email.lower()

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


# --- organizations -----------------------------------------------------------------------


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class Organization(models.Model):
    """A company using ScheduleOnce: its people, their pages and its team pages.

    Every account belongs to one organization (``Membership``); everything a person
    sees in Setup is scoped to theirs (``accounts.selectors``).
    """

    name = models.CharField(max_length=150)
    # Admins may require every member to sign in with a second factor (TOTP).
    require_two_factor = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """One person's place in an organization. A removed member's row stays (``removed_at``),
    so nothing about who was in the team disappears silently; a user has at most one
    current membership."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(removed_at__isnull=True),
                name="one_current_membership_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN and self.removed_at is None


class InvitationState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"


class Invitation(models.Model):
    """An admin's invitation of an email address into the organization.

    The link carries a signed token naming the invitation and its ``nonce``; resending
    draws a new nonce (the old link stops working), accepting or revoking ends it, and
    it expires ``INVITATION_DAYS`` after it was (re)sent.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    nonce = models.CharField(max_length=64)
    state = models.CharField(
        max_length=16, choices=InvitationState.choices, default=InvitationState.PENDING
    )
    sent_at = models.DateTimeField(default=timezone.now)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(state="pending"),
                name="one_pending_invitation_per_address",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.state})"


class InvitationEmailState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # The invitation ended (accepted, withdrawn) or was resent before this email went.
    DROPPED = "dropped", "Not sent: no longer current"


class InvitationEmail(OutboxItem):
    """The email carrying an invitation's link, sent by a worker through the shared
    outbox (``accounts.invitation_outbox``): written in the inviting transaction, so a
    broker or mail server that is down delays it but never loses it."""

    state = models.CharField(
        max_length=16, choices=InvitationEmailState.choices, default=InvitationEmailState.PENDING
    )
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="emails")
    # The link's nonce when asked for: a resend makes a new row and this one is dropped.
    nonce = models.CharField(max_length=64)
    # The language the admin used Setup in (the email is written in it).
    language = models.CharField(max_length=8, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"invitation email {self.pk} ({self.state})"
