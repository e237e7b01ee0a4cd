"""Every answer the HTTP API gives, checked against ``openapi.json`` as an integrator's
generated client would read it.

One walk over a seeded organization (Alice, admin of Contoso; Bob, a member; Charlie,
an outsider) asks every documented path with every method, with no, malformed, unknown,
revoked and live tokens, good and bad filters, cursors and limits, until the rate limits
answer. Each answer must be one the document declares for that operation (status,
content type, required headers) and its body must match the declared schema strictly:
formats are checked (``date-time``, ``uuid``, ``uri``, …) and a property the schema does
not name is an error, so the document cannot fall behind what the API sends. At the end
every answer the document declares must have been seen at least once, so it promises
nothing the API never gives.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone
from jsonschema import FormatChecker
from openapi_schema_validator import OAS31Validator

from accounts.models import Membership, Role
from accounts.services import organization_create_for
from booking.events import Actor
from booking.models import BookingPage, TeamKind
from booking.services.bookings import Invitee, booking_cancel, booking_create, booking_reschedule
from booking.services.pages import page_create
from booking.services.teams import Seat, team_page_create
from booking.tokens import booking_token
from integrations.models import ApiToken
from integrations.tokens import token_create, token_revoke
from tests.support.booking import at, workday

pytestmark = pytest.mark.django_db

METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
# Answers another branch declares (leftovers5); until then they must still be the
# documented error body.
NOT_YET_DECLARED = {"405", "503"}

FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value


def _strict(schema: object) -> object:
    """``schema`` with every object that names its properties closed to any other."""
    if isinstance(schema, dict):
        closed = {key: _strict(value) for key, value in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@dataclass
class Contract:
    """The document, and what the walk has seen of it."""

    spec: dict
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    checked: int = 0

    def __post_init__(self) -> None:
        self.components = _strict(copy.deepcopy(self.spec["components"]))
        self.templates = {
            template: re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
            for template in self.spec["paths"]
        }

    def template_of(self, path: str) -> str:
        path = path.split("?")[0]
        [template] = [t for t, pattern in self.templates.items() if pattern.match(path)]
        return template

    def validate(self, schema: dict, value: object) -> None:
        OAS31Validator({**schema, "components": self.components}, format_checker=FORMATS).validate(
            value
        )

    def check(self, response, method: str, path: str) -> dict | None:
        """``response``'s JSON (None for HEAD) after checking it against the document."""
        template = self.template_of(path)
        item = self.spec["paths"][template]
        status = str(response.status_code)
        where = f"{method.upper()} {path} -> {status}"
        operation = item.get("get" if method == "head" else method)
        self.checked += 1
        assert response.get("Access-Control-Allow-Origin") is None, where  # no CORS, ever
        # Private answers: no shared cache keeps them, no browser sniffs or frames them.
        assert "no-store" in response.get("Cache-Control", ""), where
        assert response.get("X-Content-Type-Options") == "nosniff", where
        assert "frame-ancestors 'none'" in response.get("Content-Security-Policy", ""), where
        if operation is None or status not in operation["responses"]:
            assert status in NOT_YET_DECLARED, f"{where}: not declared in openapi.json"
            declared = {
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            }
        else:
            declared = operation["responses"][status]
            self.seen.add((template, "get" if method == "head" else method, status))
        for name, header in declared.get("headers", {}).items():
            if header.get("required"):
                assert response.get(name), f"{where}: no {name} header"
        media = response.get("Content-Type", "").split(";")[0].strip()
        assert media in declared.get("content", {}), f"{where}: {media} not declared"
        if method == "head":
            assert response.content == b"", where
            return None
        body = json.loads(response.content)
        self.validate(declared["content"][media]["schema"], body)
        return body

    def check_request(self, method: str, path: str, query: dict, body: object) -> None:
        """A request the API accepted uses only what the document declares: its query
        parameters by name, and its JSON body matches the declared request body."""
        operation = self.spec["paths"][self.template_of(path)].get(method)
        if operation is None:
            return
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert set(query) <= declared, f"{method.upper()} {path}: {set(query) - declared}"
        if body is not None:
            media = operation["requestBody"]["content"]["application/json"]
            self.validate(media["schema"], body)

    def unseen(self) -> list[tuple[str, str, str]]:
        return sorted(
            (template, method, status)
            for template, item in self.spec["paths"].items()
            for method, operation in item.items()
            if method in METHODS
            for status in operation["responses"]
            if (template, method, status) not in self.seen and status not in NOT_YET_DECLARED
        )


@pytest.fixture
def contract(client) -> Contract:
    return Contract(spec=client.get("/api/v1/openapi.json").json())


@pytest.fixture
def seeded(host, teammate, outsider):
    """Contoso: Alice (admin) with a page and bookings in every state, Bob (member) with
    his own page, a collective page of both; Charlie, outside, with his own booking."""
    organization = organization_create_for(user=host, name="Contoso").organization
    Membership.objects.create(organization=organization, user=teammate, role=Role.MEMBER)
    day = workday("Europe/London")
    alices = page_create(
        host=host,
        fields={
            "title": "Intro call",
            "slug": "alice-intro",
            "location_kind": "phone",
            "location_details": "+44 20 7946 0000",
        },
    )
    bobs = page_create(host=teammate, fields={"title": "Bob's call", "slug": "bob-call"})
    charlies = page_create(host=outsider, fields={"title": "Charlie", "slug": "charlie"})
    both = team_page_create(
        admin=host,
        organization=organization,
        kind=TeamKind.COLLECTIVE,
        fields={"title": "Both of us", "slug": "both", "time_zone": "Europe/London"},
        seats=[Seat(user_id=host.pk), Seat(user_id=teammate.pk)],
    )
    closed = page_create(host=host, fields={"title": "Closed", "slug": "closed"})
    BookingPage.objects.filter(pk=closed.pk).update(is_active=False)

    def book(page, hour: int, email: str = "dana@example.com"):
        invitee = Invitee(
            name="Dana",
            email=email,
            time_zone="Asia/Kolkata",
            answers=[{"question": "Company", "answer": "Acme"}],
        )
        return booking_create(page=page, start=at(day, hour), invitee=invitee)

    moved = book(alices, 9)
    booking_reschedule(booking=moved, start=at(day, 11), actor=Actor.HOST)
    cancelled = book(alices, 10, "erin@example.com")
    booking_cancel(booking=cancelled, actor=Actor.INVITEE, reason="Clash")
    return {
        "day": day,
        "alices": alices,
        "closed": closed,
        "mine": [moved, cancelled, book(alices, 13, "fay@example.com")],
        "bobs": book(bobs, 14),
        "collective": book(both, 15),
        "charlies": book(charlies, 16),
    }


def test_every_answer_of_the_api_matches_its_openapi_document(
    client, contract, seeded, host, teammate, outsider, settings, django_user_model
):
    settings.API_RATE_LIMIT = 1000
    settings.BOOKING_RATE_LIMIT = 1000
    _row, alice = token_create(owner=host, name="CRM")
    _row, bob = token_create(owner=teammate, name="Bob's")
    _row, charlie = token_create(owner=outsider, name="Charlie's")
    mine = seeded["mine"]

    def ask(method: str, path: str, *, token: str | None = None, auth: str | None = None, **kw):
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        if auth is not None:
            headers["HTTP_AUTHORIZATION"] = auth
        response = getattr(client, method)(path, **kw, **headers)
        answer = contract.check(response, method, path)
        if response.status_code < 400:
            query = dict(parse_qsl(urlsplit(path).query)) | (
                kw.get("data", {}) if method in ("get", "head") else {}
            )
            sent = json.loads(kw["data"]) if method == "post" else None
            contract.check_request(method, path, query, sent)
        return response, answer

    # Every documented path with every method.
    slug = seeded["alices"].slug
    concrete = {
        "/api/v1/bookings": "/api/v1/bookings",
        "/api/v1/bookings/{id}": f"/api/v1/bookings/{mine[0].uuid}",
        "/api/v1/booking-pages": "/api/v1/booking-pages",
        "/api/booking-pages/{slug}/slots": f"/api/booking-pages/{slug}/slots",
        "/api/booking-pages/{slug}/bookings": f"/api/booking-pages/{slug}/bookings",
    }
    assert set(concrete) == set(contract.spec["paths"]), "walk every documented path"
    for template, path in concrete.items():
        documented = {m for m in contract.spec["paths"][template] if m in METHODS}
        for method in METHODS:
            response, _body = ask(method, path, token=alice)
            if method in documented or (method == "head" and "get" in documented):
                continue
            assert response.status_code == 405, f"{method} {path}"
            allowed = {m.strip().lower() for m in response["Allow"].split(",")}
            assert allowed - {"head"} == documented, f"{method} {path}: Allow {allowed}"
        # A browser's CORS preflight from another site is never granted.
        response, _body = ask(
            "options",
            path,
            headers={
                "HTTP_ORIGIN": "https://evil.example",
                "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
            },
        )
        assert response.status_code == 405

    # Credentials: none, malformed, unknown, revoked, of a deactivated owner, live.
    lists = ("/api/v1/bookings", "/api/v1/booking-pages", f"/api/v1/bookings/{mine[0].uuid}")
    _row, revoked = token_create(owner=host, name="Old")
    token_revoke(token=ApiToken.objects.get(name="Old"))
    _row, lapsed = token_create(
        owner=host, name="Lapsed", expires_in_days=30, now=timezone.now() - timedelta(days=31)
    )
    gone = django_user_model.objects.create_user("gone@example.com", "gone-password-1")
    _row, of_the_gone = token_create(owner=gone, name="Left")
    gone.is_active = False
    gone.save()
    for path in lists:
        for auth in (None, "", "Bearer", "Bearer ", "Basic YWxpY2U6cHc=", f"Token {alice}"):
            response, body = ask("get", path, auth=auth)
            assert response.status_code == 401, (path, auth)
            assert response["WWW-Authenticate"].startswith("Bearer")
        for token in (
            "so_pat_made-up",
            "not-even-ours",
            "so_pat_" + "x" * 300,
            revoked,
            of_the_gone,
            lapsed,
        ):
            assert ask("get", path, token=token)[0].status_code == 401, (path, token)
        response, body = ask("get", path, token=lapsed)
        assert "expired" in body["message"], body
        assert ask("get", path, token=alice)[0].status_code == 200
        assert ask("head", path, token=alice)[0].status_code == 200
        assert ask("head", path, token=revoked)[0].status_code == 401

    # Bookings: who sees what, every filter, good and bad values.
    def listed(token: str, **params) -> list[str]:
        response, body = ask("get", "/api/v1/bookings", token=token, data=params)
        assert response.status_code == 200, (params, body)
        return [row["id"] for row in body["data"]]

    everyone = {str(b.uuid) for b in [*mine, seeded["bobs"], seeded["collective"]]}
    assert set(listed(alice)) == everyone  # an admin: the organization's
    assert set(listed(bob)) == {str(seeded["bobs"].uuid), str(seeded["collective"].uuid)}
    assert listed(charlie) == [str(seeded["charlies"].uuid)]
    day = seeded["day"]
    for params in (
        {"status": "confirmed"},
        {"status": "cancelled"},
        {"page": slug},
        {"page": str(seeded["alices"].pk)},
        {"page": "nobody"},
        {"from": day.isoformat()},
        {"to": (day + timedelta(days=1)).isoformat()},
        {"from": at(day, 11).isoformat(), "to": at(day, 14).isoformat()},
        {"from": "2026-01-01T10:00"},
        {"order": "start"},
        {"order": "-created"},
        {"limit": "1"},
        {"limit": "100"},
    ):
        listed(alice, **params)
    for params, named in (
        ({"status": "maybe"}, "status"),
        ({"order": "title"}, "order"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01"}, "to"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"page": "a\x00b"}, "page"),
        ({"colour": "blue"}, "colour"),
    ):
        response, body = ask("get", "/api/v1/bookings", token=alice, data=params)
        assert response.status_code == 400, params
        assert named in body["errors"], (params, body)
    too_many = "&".join(f"p{n}=1" for n in range(1100))
    assert ask("get", f"/api/v1/bookings?{too_many}", token=alice)[0].status_code == 400
    assert ask("get", f"/api/v1/booking-pages?{too_many}", token=alice)[0].status_code == 400

    # Cursor pagination, both orders, walks every booking once.
    for order in ("-created", "start"):
        seen, cursor = [], None
        while True:
            params = {"limit": "2", "order": order, **({"cursor": cursor} if cursor else {})}
            response, body = ask("get", "/api/v1/bookings", token=alice, data=params)
            seen += [row["id"] for row in body["data"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(everyone), order
    seen, cursor = [], None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        response, body = ask("get", "/api/v1/booking-pages", token=alice, data=params)
        seen += [row["slug"] for row in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 4
    for params, named in (
        ({"limit": "0"}, "limit"),
        ({"cursor": "x"}, "cursor"),
        ({"q": "1"}, "q"),
    ):
        response, body = ask("get", "/api/v1/booking-pages", token=alice, data=params)
        assert response.status_code == 400, params
        assert named in body["errors"], params

    # One booking: every kind that can be found, and every way it is not.
    for booking in (*mine, seeded["bobs"], seeded["collective"]):
        response, body = ask("get", f"/api/v1/bookings/{booking.uuid}", token=alice)
        assert response.status_code == 200
        assert body["id"] == str(booking.uuid)
    for path, token in (
        (f"/api/v1/bookings/{seeded['charlies'].uuid}", alice),
        (f"/api/v1/bookings/{mine[0].uuid}", bob),
        ("/api/v1/bookings/not-a-uuid", alice),
        ("/api/v1/bookings/00000000-0000-0000-0000-000000000000", alice),
    ):
        assert ask("get", path, token=token)[0].status_code == 404, path
    # It takes no query parameters and, like the lists, names one it does not know.
    for query, named in (("colour=blue", "colour"), ("expand=host&b=1", "b")):
        response, body = ask("get", f"/api/v1/bookings/{mine[0].uuid}?{query}", token=alice)
        assert response.status_code == 400, query
        assert named in body["errors"], (query, body)

    # The public booking API.
    slots = f"/api/booking-pages/{slug}/slots"
    query = {"start": day.isoformat(), "end": day.isoformat(), "tz": "America/New_York"}
    response, body = ask("get", slots, data=query)
    assert response.status_code == 200
    assert body["slots"]
    moving = {**query, "reschedule": booking_token(mine[0])}
    assert ask("get", slots, data=moving)[0].status_code == 200
    for bad in (
        {"tz": "Mars/Base"},
        {"start": "soon"},
        {"end": "2020-01-01"},
        {"start": day.isoformat(), "end": (day + timedelta(days=90)).isoformat()},
        {"reschedule": "forged"},
    ):
        response, body = ask("get", slots, data={**query, **bad})
        assert response.status_code == 400, bad
    assert ask("get", f"{slots}?{too_many}")[0].status_code == 400
    for gone in (
        "/api/booking-pages/nobody/slots",
        f"/api/booking-pages/{seeded['closed'].slug}/slots",
    ):
        assert ask("get", gone, data=query)[0].status_code == 404

    bookings = f"/api/booking-pages/{slug}/bookings"
    invitee = {"name": "Gus", "email": "gus@example.com", "timezone": "Europe/Paris"}

    def post(path: str, payload, content_type: str = "application/json", **kw):
        data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        return ask("post", path, data=data, content_type=content_type, **kw)

    start = body_start = at(day, 16).isoformat()
    response, body = post(bookings, {**invitee, "start": body_start, "answers": {}, "locale": "de"})
    assert response.status_code == 201, body
    assert response["Location"]
    response, body = post(
        "/api/booking-pages/both/bookings", {**invitee, "start": at(day, 12).isoformat()}
    )
    assert response.status_code == 201, body
    assert isinstance(body["host"], list)
    assert post(bookings, {**invitee, "start": start})[0].status_code == 409
    for bad in (
        {**invitee, "start": "soon"},
        {**invitee},
        {**invitee, "start": at(day, 16, 7).isoformat()},
        {**invitee, "start": at(day, 14).isoformat(), "email": "not-an-address"},
        {**invitee, "start": at(day, 14).isoformat(), "timezone": "Mars/Base"},
        [1, 2],
        "{not json",
        "[" * 50 + "]" * 50,
    ):
        assert post(bookings, bad)[0].status_code == 400, bad
    assert post(bookings, "start=x", "application/x-www-form-urlencoded")[0].status_code == 400
    huge = {**invitee, "start": at(day, 14).isoformat(), "name": "x" * 20000}
    assert post(bookings, huge)[0].status_code == 413
    for gone in (
        "/api/booking-pages/nobody/bookings",
        f"/api/booking-pages/{seeded['closed'].slug}/bookings",
    ):
        assert post(gone, {**invitee, "start": start})[0].status_code == 404

    # Rate limits: a token's own, refused tokens per client, bookings per client.
    settings.API_RATE_LIMIT = 2
    settings.BOOKING_RATE_LIMIT = 1
    from django.core.cache import cache

    cache.clear()
    answers = [ask("get", "/api/v1/booking-pages", token=alice)[0].status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    answers = [
        ask("get", "/api/v1/bookings", token=f"so_pat_guess{n}")[0].status_code for n in range(3)
    ]
    assert answers == [401, 401, 429]
    assert ask("get", f"/api/v1/bookings/{mine[0].uuid}", token=alice)[0].status_code == 429
    late = {**invitee, "start": at(day, 14).isoformat()}
    answers = [post(bookings, late, REMOTE_ADDR="203.0.113.9")[0].status_code for _ in range(2)]
    assert answers[-1] == 429

    assert contract.unseen() == [], "declared in openapi.json but never seen"
    assert contract.checked > 150


def test_every_webhook_event_is_signed_and_matches_its_schema_in_the_document(
    contract, host, teammate, django_user_model, receiver
):
    """Each event type, made by the change it announces, reaches a receiver that verifies
    it with ``standardwebhooks``; its body matches that event's schema in ``webhooks``
    strictly (no field the document does not name), and the document lists no event
    that never comes."""
    from django.utils import timezone

    from accounts.models import Invitation
    from accounts.services import invitation_accept, member_remove
    from booking.events import meeting_link_recorded
    from booking.models import Booking
    from calendars.models import CalendarConnection
    from calendars.signals import connection_disconnected, connection_reconnected
    from integrations.models import TEAM_EVENTS, EventType, WebhookDelivery
    from integrations.webhooks import delivery_deliver, endpoint_create, endpoint_send_test

    organization = organization_create_for(user=host, name="Contoso").organization
    Membership.objects.create(organization=organization, user=teammate, role=Role.MEMBER)
    personal = [e for e in EventType.values if e not in TEAM_EVENTS]
    mine, secret = endpoint_create(owner=host, url=receiver.url, events=personal)
    receiver.secrets.append(secret)
    _wide, secret = endpoint_create(
        owner=host, url=receiver.url, events=list(TEAM_EVENTS), organization=organization
    )
    receiver.secrets.append(secret)

    day = workday("Europe/London")
    both = team_page_create(
        admin=host,
        organization=organization,
        kind=TeamKind.COLLECTIVE,
        fields={"title": "Both of us", "slug": "both", "time_zone": "Europe/London"},
        seats=[Seat(user_id=host.pk), Seat(user_id=teammate.pk)],
    )
    invitee = Invitee(
        name="Dana",
        email="dana@example.com",
        time_zone="Asia/Kolkata",
        answers=[{"question": "Company", "answer": "Acme"}],
    )
    booking = booking_create(page=both, start=at(day, 10), invitee=invitee)
    booking = booking_reschedule(booking=booking, start=at(day, 11), actor=Actor.HOST)
    meeting_link_recorded.send(
        sender=Booking,
        booking_id=booking.pk,
        booking_uuid=booking.uuid,
        version=booking.sequence,
        host_id=booking.host_id,
        occurred_at=timezone.now(),
        replaced=False,
    )
    booking_cancel(booking=booking, actor=Actor.INVITEE, reason="Clash")
    connection = CalendarConnection.objects.create(
        host=host, provider="office365", account_id="uid.tid", account_email="alice@contoso.com"
    )
    common = {"connection_id": connection.pk, "host_id": host.pk, "provider": "office365"}
    connection_disconnected.send(sender=None, reason="expired", **common)
    connection_reconnected.send(sender=None, **common)
    dave = django_user_model.objects.create_user("dave@example.com", "dave-password-1")
    invitation = Invitation.objects.create(
        organization=organization,
        email=dave.email,
        role=Role.MEMBER,
        invited_by=host,
        nonce="n",
    )
    invitation_accept(invitation=invitation, user=dave)
    member_remove(membership=Membership.objects.get(user=teammate))
    endpoint_send_test(endpoint=mine)

    for delivery in WebhookDelivery.objects.order_by("pk"):
        delivery_deliver(delivery_id=delivery.pk)
    assert all(attempt.verified for attempt in receiver.attempts)
    events = receiver.events()
    assert sorted(event["type"] for event in events) == sorted(contract.spec["webhooks"])
    for event in events:
        operation = contract.spec["webhooks"][event["type"]]["post"]
        contract.validate(operation["requestBody"]["content"]["application/json"]["schema"], event)
    for attempt in receiver.attempts:
        headers = attempt.headers
        assert headers["webhook-id"].startswith("msg_")
        assert "." not in headers["webhook-id"]  # it is part of the signed content
        assert abs(int(headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
        assert headers["webhook-signature"].startswith("v1,")
        assert headers["content-type"] == "application/json"
