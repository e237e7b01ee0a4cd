"""Setup → Booking pages: a host's own pages, their rules, questions and calendars.

Every write here is a *page edit* (``@_page_edit``): one transaction that holds the
host's lock, so two edits of one host's pages take turns, that saves the page it
changes (its ``updated_at`` keys the caches of what the page shows and what a booking
reads: ``booking.bookable_pages``), and that ends by
recomputing which calendars' busy time is read and how far ahead
(``booking.services.horizons``). That is the one place page changes reach the
horizons; a new write here gets it by wearing the decorator.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.bookable_pages import page_edit_marked
from booking.models import (
    RESERVED_SLUGS,
    BookingPage,
    DateOverride,
    PageCalendar,
    Question,
    WeeklyHours,
)
from booking.reminders import reminders_follow_page
from booking.selectors import host_calendars
from booking.services.horizons import busy_horizons_update
from booking.services.locking import host_lock
from calendars.models import Calendar

T = TypeVar("T")

DEFAULT_WEEKLY_HOURS = tuple((weekday, time(9), time(17)) for weekday in range(5))


def _page_edit(service: Callable[..., T]) -> Callable[..., T]:
    """Run ``service`` (keyword arguments ``host=`` or ``page=``) as one page edit."""

    @functools.wraps(service)
    def edit(**kwargs) -> T:
        host = kwargs["host"] if "host" in kwargs else kwargs["page"].host
        with transaction.atomic(), page_edit_marked():
            host_lock(host.pk)
            result = service(**kwargs)
            busy_horizons_update(host=host)
        return result

    return edit


HoursRow = tuple[int, time, time]
OverrideRow = tuple[date, time | None, time | None]


@dataclass(frozen=True)
class QuestionData:
    label: str
    kind: str
    required: bool = False
    options: Sequence[str] = ()
    pk: int | None = None  # an existing question keeps its id (and so its answer key)


@_page_edit
def page_create(
    *,
    host,
    fields: Mapping[str, object],
    hours: Sequence[HoursRow] = DEFAULT_WEEKLY_HOURS,
    overrides: Sequence[OverrideRow] = (),
    questions: Sequence[QuestionData] = (),
) -> BookingPage:
    """A new page of ``host`` with the given basic ``fields`` (model field names) and rules.

    The host's default calendar, when one is connected, becomes the main booking calendar.
    """
    page = BookingPage(host=host, **fields)
    if not page.time_zone:
        page.time_zone = host.time_zone
    page.main_calendar = host_calendars(host=host).filter(is_default=True).first()
    page.full_clean()
    page.save()
    _replace_rules(page=page, hours=hours, overrides=overrides, questions=questions)
    return page


@_page_edit
def page_update(
    *,
    page: BookingPage,
    fields: Mapping[str, object],
    hours: Sequence[HoursRow],
    overrides: Sequence[OverrideRow],
    questions: Sequence[QuestionData],
) -> BookingPage:
    offsets_before = sorted(set(page.reminder_offsets or []))
    for name, value in fields.items():
        setattr(page, name, value)
    page.full_clean()
    page.save()
    _replace_rules(page=page, hours=hours, overrides=overrides, questions=questions)
    if sorted(set(page.reminder_offsets or [])) != offsets_before:
        reminders_follow_page(page=page)
    return page


def _replace_rules(
    *,
    page: BookingPage,
    hours: Sequence[HoursRow],
    overrides: Sequence[OverrideRow],
    questions: Sequence[QuestionData],
) -> None:
    page.weekly_hours.all().delete()
    WeeklyHours.objects.bulk_create(
        WeeklyHours(page=page, weekday=weekday, start=start, end=end)
        for weekday, start, end in sorted(set(hours))
    )
    page.date_overrides.all().delete()
    DateOverride.objects.bulk_create(
        DateOverride(page=page, date=day, start=start, end=end)
        for day, start, end in sorted(set(overrides), key=lambda r: (r[0], r[1] or time(0)))
    )
    kept = {q.pk for q in questions if q.pk is not None}
    page.questions.exclude(pk__in=kept).delete()
    existing = {q.pk: q for q in page.questions.all()}
    for position, data in enumerate(questions):
        question = existing.get(data.pk) or Question(page=page)
        question.label = data.label
        question.kind = data.kind
        question.required = data.required
        question.options = list(data.options)
        question.position = position
        question.save()


@_page_edit
def page_set_active(*, page: BookingPage, active: bool) -> BookingPage:
    page.is_active = active
    page.save(update_fields=["is_active", "updated_at"])
    return page


# German spells its umlauts out when they cannot be written ("Erstgespräch" is
# "erstgespraech", not "erstgespr-ch"); other accents lose their marks (é → e).
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def slug_from_title(title: str) -> str:
    """Lowercase ASCII letters, digits and hyphens for a link, read from ``title``."""
    ascii_title = (
        unicodedata.normalize("NFKD", title.lower().translate(_SPELLED_OUT))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    return re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")[:50].strip("-")


def unique_slug(base: str, *, exclude_pk: int | None = None) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is free (and short enough)."""
    base = slug_from_title(base) or "page"
    taken = BookingPage.objects.exclude(pk=exclude_pk)
    candidate, number = base, 1
    while taken.filter(slug=candidate).exists() or candidate in RESERVED_SLUGS:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def _copy_rows(rows, *, page: BookingPage, fields: Sequence[str]) -> None:
    """Copy ``rows`` (children of another page) onto ``page``, keeping ``fields``."""
    model = rows.model
    model.objects.bulk_create(
        model(page=page, **{name: getattr(row, name) for name in fields}) for row in rows
    )


@_page_edit
def page_duplicate(*, page: BookingPage) -> BookingPage:
    """A disabled copy of the page (rules, questions, calendars) at a fresh link."""
    original_pk = page.pk
    copy = BookingPage.objects.get(pk=original_pk)
    copy.pk = None
    copy.id = None
    # Named in the language of whoever duplicates it (the request's); a title from then on.
    copy.title = (_("Copy of %(title)s") % {"title": page.title})[:120]
    copy.slug = unique_slug(f"{page.slug}-copy")
    copy.is_active = False
    copy.save()
    original = BookingPage.objects.get(pk=original_pk)
    _copy_rows(original.weekly_hours.all(), page=copy, fields=("weekday", "start", "end"))
    _copy_rows(original.date_overrides.all(), page=copy, fields=("date", "start", "end"))
    _copy_rows(
        original.questions.all(),
        page=copy,
        fields=("label", "kind", "required", "options", "position"),
    )
    _copy_rows(
        original.calendar_uses.all(),
        page=copy,
        fields=("calendar_id", "retrieve_busy", "add_bookings"),
    )
    return copy


@_page_edit
def page_delete(*, page: BookingPage) -> None:
    """Delete the page. Its bookings stay (and their invitees can still cancel them)."""
    page.delete()


@_page_edit
def page_calendars_set(
    *,
    page: BookingPage,
    main_calendar: Calendar | None,
    uses: Mapping[int, tuple[bool, bool]],
) -> None:
    """Set the main booking calendar and, per other calendar id, (retrieve busy, add bookings).

    Only calendars of the host's connected account are accepted; others are ignored.
    """
    allowed = {calendar.pk: calendar for calendar in host_calendars(host=page.host)}
    if main_calendar is not None and main_calendar.pk not in allowed:
        raise ValueError("That calendar is not one of the host's connected calendars.")
    page.main_calendar = main_calendar
    page.save(update_fields=["main_calendar", "updated_at"])
    page.calendar_uses.filter(calendar_id__in=allowed).delete()
    PageCalendar.objects.bulk_create(
        PageCalendar(page=page, calendar=allowed[pk], retrieve_busy=busy, add_bookings=add)
        for pk, (busy, add) in uses.items()
        if pk in allowed and (busy or add) and (main_calendar is None or pk != main_calendar.pk)
    )


def pages_move_organization(*, user, old, new) -> int:
    """Move into ``new`` the pages of ``old`` that ``user`` (its only current member, who
    is joining ``new``) brings: their own pages and ``old``'s team pages. A former member's
    own pages stay in ``old``. ``updated_at`` moves, so cached page answers (whose header
    names the organization) are made again. Returns how many pages moved."""
    pages = BookingPage.objects.filter(Q(host=user) | ~Q(team_kind=""), organization=old)
    return pages.update(organization=new, updated_at=timezone.now())
