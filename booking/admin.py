from django.contrib import admin

from booking.models import (
    Booking,
    BookingEmail,
    BookingPage,
    DateOverride,
    PageCalendar,
    Question,
    WeeklyHours,
)
from outbox.admin import OUTBOX_FIELDS, OutboxAdmin


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    extra = 0


class DateOverrideInline(admin.TabularInline):
    model = DateOverride
    extra = 0


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0


class PageCalendarInline(admin.TabularInline):
    model = PageCalendar
    extra = 0


@admin.register(BookingPage)
class BookingPageAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "host", "is_active", "duration_minutes", "time_zone"]
    list_filter = ["is_active"]
    search_fields = ["title", "slug", "host__email"]
    inlines = [WeeklyHoursInline, DateOverrideInline, QuestionInline, PageCalendarInline]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["title", "invitee_name", "invitee_email", "start", "status", "host"]
    list_filter = ["status"]
    search_fields = ["invitee_name", "invitee_email", "host__email", "uuid"]
    readonly_fields = ["uuid", "created_at", "updated_at", "sequence"]


@admin.register(BookingEmail)
class BookingEmailAdmin(OutboxAdmin):
    """The email outbox, read-only: one row per booking event, and what was sent."""

    list_display = ["booking", "kind", "actor", "state", "attempts", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["booking__invitee_email", "booking__uuid"]
    fields = (
        "booking",
        "kind",
        "actor",
        "booking_version",
        "invitee_sent_at",
        "host_sent_at",
        *OUTBOX_FIELDS,
    )
