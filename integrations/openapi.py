"""The OpenAPI 3.1 document of the read API, the public booking API and our webhooks.

Written by hand next to the views it describes; ``tests/integrations/test_api.py``
checks that the document is valid OpenAPI 3.1 and that real answers match it.
"""

from __future__ import annotations

from accounts.models import Role
from booking.events import Actor
from booking.models import LocationKind
from calendars.models import DisconnectReason
from calendars.providers import PROVIDERS
from integrations.models import TEST_EVENT, EventType

ERROR = {"$ref": "#/components/schemas/Error"}
NULLABLE_STRING = {"type": ["string", "null"]}
DATE_TIME = {"type": "string", "format": "date-time"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    words = {
        400: "The query or body is not valid.",
        401: "No token, or not a valid one (unknown, revoked or expired).",
        404: "Not found.",
        409: "The slot is no longer free.",
        413: "The body is too large.",
        429: "Too many requests; see Retry-After.",
        405: "This method is not allowed here; Allow names those that are.",
        503: "The database does not answer for now; try again after Retry-After.",
    }
    # Every operation can meet a method it does not take and a database that is down.
    return {
        str(status): {**_json(ERROR, words[status]), **_headers(ERROR_HEADERS.get(status, {}))}
        for status in (*statuses, 405, 503)
    }


def _headers(headers: dict[str, str]) -> dict:
    if not headers:
        return {}
    return {
        "headers": {
            name: {"required": True, "description": words, "schema": {"type": "string"}}
            for name, words in headers.items()
        }
    }


ERROR_HEADERS = {
    401: {"WWW-Authenticate": 'Bearer realm="api": send a personal access token.'},
    405: {"Allow": "The methods this address takes."},
    429: {"Retry-After": "Seconds to wait before asking again."},
    503: {"Retry-After": "Seconds to wait before asking again."},
}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["message", "errors"],
        "properties": {
            "message": {"type": "string"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "PageSummary": {
        "type": "object",
        "required": ["id", "slug", "title"],
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "title": {"type": "string"},
        },
    },
    "BookingPage": {
        "type": "object",
        "required": ["id", "slug", "title", "url", "duration_minutes", "time_zone", "is_active"],
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "description": {"type": "string"},
            "duration_minutes": {"type": "integer"},
            "time_zone": {"type": "string"},
            "location": {"type": "string"},
            "is_active": {"type": "boolean"},
            "created_at": DATE_TIME,
        },
    },
    "Booking": {
        "type": "object",
        "required": [
            "id",
            "status",
            "start",
            "end",
            "time_zone",
            "location",
            "location_kind",
            "join_url",
            "invitee",
            "answers",
            "host",
            "cancel_url",
            "reschedule_url",
            "version",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "status": {"type": "string", "enum": ["confirmed", "cancelled"]},
            "title": {"type": "string"},
            "start": DATE_TIME,
            "end": DATE_TIME,
            "time_zone": {"type": "string", "description": "The zone of start and end's offset."},
            "location": {
                "type": "string",
                "description": "Where the meeting is, as text in the language of the booking.",
            },
            "location_kind": {
                "type": ["string", "null"],
                "enum": [*LocationKind.values, None],
                "description": (
                    "The booking page's kind of location when it was booked: in_person, phone "
                    "or teams (a Microsoft Teams online meeting). Null for bookings made before "
                    "the kind was recorded."
                ),
            },
            "join_url": {
                "type": ["string", "null"],
                "format": "uri",
                "description": (
                    "The Teams meeting's join link once the host's calendar made it, usually "
                    "seconds after booking (so booking.created has it null; "
                    "booking.meeting_link_ready brings it, and later events and requests show "
                    "it; when the meeting is made again, e.g. after the host deleted the event "
                    "in Outlook, booking.meeting_link_ready comes again with the new link). "
                    "Null until then, for other kinds of location, when the "
                    "calendar cannot make Teams meetings, and once the booking is cancelled."
                ),
            },
            "page": {"oneOf": [{"$ref": "#/components/schemas/PageSummary"}, {"type": "null"}]},
            "invitee": {
                "type": "object",
                "required": ["name", "email", "time_zone"],
                "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string", "format": "email"},
                    "time_zone": {"type": "string"},
                },
            },
            "answers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["question", "answer"],
                    "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
                },
            },
            "host": {
                "type": "object",
                "required": ["name", "email"],
                "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
            },
            "cohosts": {
                "type": "array",
                "description": "On a collective page, the other members who attend.",
                "items": {
                    "type": "object",
                    "required": ["name", "email"],
                    "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
                },
            },
            "cancel_url": {"type": "string", "format": "uri"},
            "reschedule_url": {"type": "string", "format": "uri"},
            "rescheduled_from": {**NULLABLE_STRING, "format": "date-time"},
            "cancel_reason": {"type": "string"},
            "cancelled_at": {**NULLABLE_STRING, "format": "date-time"},
            "version": {"type": "integer", "description": "0 when made, +1 per change."},
            "created_at": DATE_TIME,
        },
    },
    "BookingList": {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Booking"}},
            "next_cursor": NULLABLE_STRING,
        },
    },
    "BookingPageList": {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/BookingPage"}},
            "next_cursor": NULLABLE_STRING,
        },
    },
    "Slots": {
        "type": "object",
        "required": ["timezone", "slots"],
        "properties": {
            "timezone": {"type": "string"},
            "slots": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["start", "end"],
                    "properties": {"start": DATE_TIME, "end": DATE_TIME},
                },
            },
        },
    },
    "BookingRequest": {
        "type": "object",
        "required": ["start", "name", "email", "timezone"],
        "properties": {
            "start": DATE_TIME,
            "name": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "timezone": {"type": "string"},
            "answers": {
                "type": "object",
                "description": "Answers by question id.",
                "additionalProperties": {"type": "string"},
            },
            "locale": {
                "type": "string",
                "description": (
                    "The language the booking is made in (e.g. de): the answer's messages "
                    "and the invitee's emails use it when we speak it."
                ),
            },
        },
    },
    "BookingCreated": {
        "type": "object",
        "required": ["id", "start", "end", "cancel_url", "reschedule_url", "host"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "start": DATE_TIME,
            "end": DATE_TIME,
            "cancel_url": {"type": "string", "format": "uri"},
            "reschedule_url": {"type": "string", "format": "uri"},
            "host": {
                "description": (
                    "Who the invitee meets: the host (a round-robin page's assigned member), "
                    "or on a collective page every member, organizer first."
                ),
                "oneOf": [
                    {"$ref": "#/components/schemas/Person"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/Person"}},
                ],
            },
        },
    },
    "Person": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}},
    },
    "WebhookEvent": {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "enum": [*EventType.values, TEST_EVENT]},
            "timestamp": DATE_TIME,
            "data": {"type": "object"},
        },
    },
}

LIST_BOOKINGS = {
    "get": {
        "operationId": "listBookings",
        "summary": "Your bookings, newest first (or by start), a page at a time.",
        "parameters": [
            _query(
                "status",
                "Only this status.",
                {"type": "string", "enum": ["confirmed", "cancelled"]},
            ),
            _query("page", "Only this booking page (its id or slug)."),
            _query("from", "Only bookings starting at or after (date or date-time)."),
            _query("to", "Only bookings starting before (date or date-time)."),
            _query("order", "Sort order.", {"type": "string", "enum": ["-created", "start"]}),
            _query(
                "limit",
                "Page size.",
                {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
            ),
            _query("cursor", "The next_cursor of the previous page."),
        ],
        "responses": {
            "200": _json({"$ref": "#/components/schemas/BookingList"}, "A page of bookings."),
            **_errors(400, 401, 429),
        },
    }
}

GET_BOOKING = {
    "get": {
        "operationId": "getBooking",
        "summary": "One of your bookings.",
        "description": (
            "Takes no query parameters: any is a 400 naming it, as the lists answer "
            "parameters they do not know."
        ),
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "responses": {
            "200": _json({"$ref": "#/components/schemas/Booking"}, "The booking."),
            **_errors(400, 401, 404, 429),
        },
    }
}

LIST_PAGES = {
    "get": {
        "operationId": "listBookingPages",
        "summary": "Your booking pages (an admin's: the organization's), by title.",
        "description": (
            "Cursor-paginated like listBookings. The page size defaults to 100 (the "
            "largest), so a client that reads `data` and ignores `next_cursor` still gets "
            "every page of an account with up to 100 booking pages."
        ),
        "parameters": [
            _query(
                "limit",
                "Page size.",
                {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
            ),
            _query("cursor", "The next_cursor of the previous page."),
        ],
        "responses": {
            "200": _json({"$ref": "#/components/schemas/BookingPageList"}, "A page of pages."),
            **_errors(400, 401, 429),
        },
    }
}

SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}

PUBLIC_SLOTS = {
    "get": {
        "operationId": "listSlots",
        "summary": "Free slots of a public booking page (no token).",
        "security": [],
        "parameters": [
            SLUG,
            {
                **_query("start", "First day.", {"type": "string", "format": "date"}),
                "required": True,
            },
            {**_query("end", "Last day.", {"type": "string", "format": "date"}), "required": True},
            {**_query("tz", "IANA time zone of the answer."), "required": True},
            _query(
                "reschedule",
                "The token of a booking's reschedule link (the part before /reschedule/): "
                "the answer is the times that booking can move to, its own time counting "
                "as free.",
            ),
        ],
        "responses": {
            "200": _json({"$ref": "#/components/schemas/Slots"}, "Slots in tz."),
            **_errors(400, 404),
        },
    }
}

PUBLIC_BOOK = {
    "post": {
        "operationId": "createBooking",
        "summary": "Book a slot of a public booking page (no token).",
        "security": [],
        "parameters": [SLUG],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/BookingRequest"}}
            },
        },
        "responses": {
            "201": {
                **_json({"$ref": "#/components/schemas/BookingCreated"}, "Booked."),
                **_headers({"Location": "The booking's confirmation page."}),
            },
            **_errors(400, 404, 409, 413, 429),
        },
    }
}


def _booking_with(properties: dict, required: list[str], description: str) -> dict:
    """The Booking schema with more properties (a webhook's ``data``)."""
    booking = SCHEMAS["Booking"]
    return {
        **booking,
        "description": description,
        "required": [*booking["required"], *required],
        "properties": {**booking["properties"], **properties},
    }


CHANGED_BY = {
    "type": "string",
    "enum": [actor.value for actor in Actor],
    "description": "Who made the change: the invitee, the host, or ScheduleOnce itself.",
}
PERSON_WITH_EMAIL = SCHEMAS["Booking"]["properties"]["host"]

EVENT_SCHEMAS = {
    "BookingEventData": _booking_with(
        {"changed_by": CHANGED_BY},
        ["changed_by"],
        "The booking as the read API shows it, and who made the change.",
    ),
    "BookingRescheduledData": _booking_with(
        {
            "changed_by": CHANGED_BY,
            "previous_host": {
                "oneOf": [PERSON_WITH_EMAIL, {"type": "null"}],
                "description": (
                    "The member who had the booking when the move handed a round-robin "
                    "meeting to another (now in host); null when the host stayed."
                ),
            },
        },
        ["changed_by", "previous_host"],
        "The moved booking (rescheduled_from is the old start).",
    ),
    "CalendarConnectionData": {
        "type": "object",
        "required": ["connection_id", "provider", "account_email", "reason"],
        "properties": {
            "connection_id": {"type": "integer"},
            "provider": {"type": "string", "enum": list(PROVIDERS)},
            "account_email": {"type": "string"},
            "reason": {
                "type": ["string", "null"],
                "enum": [*DisconnectReason.values, None],
                "description": (
                    "Why it ended: host (the host disconnected it), expired (a sign-in "
                    "unused too long, or one Microsoft wants made again), revoked (any other "
                    "refusal); null for calendar.reconnected."
                ),
            },
        },
    },
    "TeamMemberData": {
        "type": "object",
        "required": ["organization", "member"],
        "properties": {
            "organization": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            },
            "member": {
                "type": "object",
                "required": ["name", "email", "role"],
                "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string"},
                    "role": {"type": "string", "enum": Role.values},
                },
            },
        },
    },
    "TestEventData": {
        "type": "object",
        "required": ["endpoint_id", "message"],
        "properties": {"endpoint_id": {"type": "integer"}, "message": {"type": "string"}},
    },
}
SCHEMAS.update(EVENT_SCHEMAS)

# Each event's ``data``.
EVENT_DATA = {
    EventType.BOOKING_CREATED: "BookingEventData",
    EventType.BOOKING_RESCHEDULED: "BookingRescheduledData",
    EventType.BOOKING_CANCELLED: "BookingEventData",
    EventType.BOOKING_MEETING_LINK_READY: "BookingEventData",
    EventType.CALENDAR_DISCONNECTED: "CalendarConnectionData",
    EventType.CALENDAR_RECONNECTED: "CalendarConnectionData",
    EventType.TEAM_MEMBER_JOINED: "TeamMemberData",
    EventType.TEAM_MEMBER_REMOVED: "TeamMemberData",
    TEST_EVENT: "TestEventData",
}


def _webhook(event_type: str) -> dict:
    body = {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"const": str(event_type)},
            "timestamp": {**DATE_TIME, "description": "When the event happened."},
            "data": {"$ref": f"#/components/schemas/{EVENT_DATA[event_type]}"},
        },
    }
    return {
        "post": {
            "summary": f"{event_type}, signed per Standard Webhooks.",
            "parameters": [
                {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": {"description": "Any 2xx: received."},
                "410": {"description": "Gone: the endpoint is switched off at once."},
            },
        }
    }


def openapi_document(*, server: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ScheduleOnce API",
            "version": "1.0.0",
            "description": (
                "The read API (personal access tokens, /api/v1/), the public booking API "
                "and the outgoing webhooks."
            ),
        },
        "servers": [{"url": server}],
        "security": [{"bearerToken": []}],
        "paths": {
            "/api/v1/bookings": LIST_BOOKINGS,
            "/api/v1/bookings/{id}": GET_BOOKING,
            "/api/v1/booking-pages": LIST_PAGES,
            "/api/booking-pages/{slug}/slots": PUBLIC_SLOTS,
            "/api/booking-pages/{slug}/bookings": PUBLIC_BOOK,
        },
        "webhooks": {str(event_type): _webhook(event_type) for event_type in EVENT_DATA},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "A personal access token from Setup → Profile → API tokens. It lasts "
                        "30, 90 or 365 days, or until revoked, as chosen when it was made; "
                        "an expired token is answered 401 like a revoked one."
                    ),
                }
            },
        },
    }
