"""Seed the demo tenant: ``ensure_demo_tenant()`` is idempotent and runs at every ``make run``.

Each demo person gets an owned default calendar ("Calendar"), a second owned
calendar ("Personal"), the other person's default calendar shared with them
(owner: the other person, ``canShare`` false, ``canEdit`` true) and the room's
calendar they added (owner: the room, read-only), plus a few busy events in
the coming days so the demo shows busy time, and Adele's weekly team sync (a
recurring series of twelve, the commonest busy time of a real host). Existing
data is never changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import PBKDF2PasswordHasher

from graph_sandbox import demo, store
from graph_sandbox.clock import sandbox_now
from graph_sandbox.graph.events import event_insert
from graph_sandbox.ids import graph_id, sha256_hex
from graph_sandbox.models import (
    AppRegistration,
    Calendar,
    CalendarAccess,
    Mailbox,
    MailboxKind,
    Tenant,
)

# Demo passwords of a local stand-in: hashed cheaply on purpose, so that seeding
# and signing in stay fast in tests.
PASSWORD_ITERATIONS = 10_000


@dataclass(frozen=True)
class SeedResult:
    created: bool  # False when the demo tenant already existed
    tenant: Tenant
    app: AppRegistration


def ensure_demo_tenant() -> SeedResult:
    """Create the demo tenant, app, mailboxes, calendars and events that are missing."""
    with store.writing():
        tenant, created = Tenant.objects.get_or_create(
            tenant_id=uuid.UUID(demo.DEMO_TENANT_ID),
            defaults={"name": demo.DEMO_TENANT_NAME, "domain": demo.DEMO_TENANT_DOMAIN},
        )
        app = app_register(
            tenant=tenant,
            client_id=demo.DEMO_CLIENT_ID,
            client_secret=demo.DEMO_CLIENT_SECRET,
            name=demo.DEMO_APP_NAME,
            redirect_uris=demo.DEMO_REDIRECT_URIS,
        )
        new = [p for p in (*demo.PEOPLE, *demo.ROOMS) if _mailbox_added(tenant, p)]
        if new:
            _link_calendars()
            for person in new:
                _seed_events(person)
                _seed_series(person)
    return SeedResult(created=created, tenant=tenant, app=app)


def app_register(
    *,
    tenant: Tenant,
    client_id: str,
    client_secret: str,
    name: str,
    redirect_uris: list[str],
) -> AppRegistration:
    """Register an app if ``client_id`` is new; an existing registration is left as it is."""
    with store.writing():
        app, _ = AppRegistration.objects.get_or_create(
            client_id=client_id,
            defaults={
                "tenant": tenant,
                "name": name,
                "secret_hash": sha256_hex(client_secret),
                "redirect_uris": list(redirect_uris),
            },
        )
    return app


def password_hash(password: str) -> str:
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(password, hasher.salt(), iterations=PASSWORD_ITERATIONS)


def _mailbox_added(tenant: Tenant, person: demo.DemoPerson) -> bool:
    room = person in demo.ROOMS
    mailbox, created = Mailbox.objects.get_or_create(
        address=person.address,
        defaults={
            "tenant": tenant,
            "object_id": uuid.UUID(person.object_id),
            "display_name": person.display_name,
            "given_name": person.given_name,
            "surname": person.surname,
            "job_title": person.job_title,
            "kind": MailboxKind.ROOM if room else MailboxKind.USER,
            "password": "" if room else password_hash(demo.DEMO_PASSWORD),
            "time_zone": person.time_zone,
        },
    )
    if created:
        _own_calendar(mailbox, "Calendar", color="auto", hex_color="", default=True)
        if not room:
            _own_calendar(mailbox, "Personal", color="lightGreen", hex_color="#87d28e")
    return created


def _own_calendar(
    mailbox: Mailbox, name: str, *, color: str, hex_color: str, default: bool = False
) -> None:
    calendar = Calendar.objects.create(
        owner=mailbox, name=name, color=color, hex_color=hex_color, is_default=default
    )
    CalendarAccess.objects.create(
        graph_id=graph_id("AAMkAGI2"),
        mailbox=mailbox,
        calendar=calendar,
        name=name,
        is_removable=not default,
        position=0 if default else 1,
    )


def _link_calendars() -> None:
    """Each person sees the other's default calendar and the room's, as Outlook lists them."""
    people = {p.address: Mailbox.objects.get(address=p.address) for p in demo.PEOPLE}
    rooms = [Mailbox.objects.get(address=r.address) for r in demo.ROOMS]
    for viewer in people.values():
        for other in people.values():
            if other != viewer:
                _see(viewer, other, can_edit=True, position=2)
        for room in rooms:
            _see(viewer, room, can_edit=False, position=3)


def _see(viewer: Mailbox, owner: Mailbox, *, can_edit: bool, position: int) -> None:
    calendar = Calendar.objects.get(owner=owner, is_default=True)
    CalendarAccess.objects.get_or_create(
        mailbox=viewer,
        calendar=calendar,
        defaults={
            "graph_id": graph_id("AAMkAGI2"),
            "name": owner.display_name,
            "can_edit": can_edit,
            "can_share": False,
            "can_view_private": False,
            "is_removable": True,
            "position": position,
        },
    )


# (calendar name, days from today, start, minutes, subject, showAs)
DEMO_EVENTS = {
    demo.ADELE.address: [
        ("Calendar", 1, time(9, 30), 30, "Team stand-up", "busy"),
        ("Calendar", 1, time(13, 0), 60, "Lunch with Megan", "tentative"),
        ("Calendar", 2, time(10, 0), 120, "Quarterly planning", "busy"),
        ("Personal", 2, time(17, 30), 60, "Dentist", "oof"),
        ("Calendar", 3, time(8, 0), 60, "Focus time", "free"),
    ],
    demo.MEGAN.address: [
        ("Calendar", 1, time(11, 0), 60, "Customer call", "busy"),
        ("Calendar", 4, time(9, 0), 480, "Trade show", "oof"),
    ],
    demo.RAINIER.address: [
        ("Calendar", 1, time(14, 0), 60, "Design review", "busy"),
    ],
}


# A weekly series: (calendar name, start, minutes, subject, showAs, occurrences). Its
# weekday is the first Monday to Friday from three to seven days ahead: never the weekday
# of tomorrow or the day after, whose next weeks tests book as free time.
DEMO_SERIES = {
    demo.ADELE.address: ("Calendar", time(16, 0), 30, "Weekly team sync", "busy", 12),
}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _seed_series(person: demo.DemoPerson) -> None:
    if person.address not in DEMO_SERIES:
        return
    calendar_name, at, minutes, subject, show_as, count = DEMO_SERIES[person.address]
    mailbox = Mailbox.objects.get(address=person.address)
    zone = ZoneInfo(mailbox.time_zone)
    today = sandbox_now().astimezone(zone).date()
    day = next(
        today + timedelta(days=ahead)
        for ahead in range(3, 8)
        if (today + timedelta(days=ahead)).weekday() < 5
    )
    start = datetime.combine(day, at, tzinfo=zone)
    event_insert(
        calendar=Calendar.objects.get(owner=mailbox, name=calendar_name),
        subject=subject,
        start=start,
        end=start + timedelta(minutes=minutes),
        show_as=show_as,
        time_zone=mailbox.time_zone,
        recurrence={
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [DAYS[day.weekday()]],
                "firstDayOfWeek": "monday",
            },
            "range": {
                "type": "numbered",
                "startDate": day.isoformat(),
                "numberOfOccurrences": count,
            },
        },
    )


def _seed_events(person: demo.DemoPerson) -> None:
    mailbox = Mailbox.objects.get(address=person.address)
    zone = ZoneInfo(mailbox.time_zone)
    today = sandbox_now().astimezone(zone).date()
    for calendar_name, days, at, minutes, subject, show_as in DEMO_EVENTS[person.address]:
        start = datetime.combine(today + timedelta(days=days), at, tzinfo=zone)
        event_insert(
            calendar=Calendar.objects.get(owner=mailbox, name=calendar_name),
            subject=subject,
            start=start,
            end=start + timedelta(minutes=minutes),
            show_as=show_as,
            time_zone=mailbox.time_zone,
        )
