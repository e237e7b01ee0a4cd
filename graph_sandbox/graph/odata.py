"""The OData conventions Graph follows: query options, ``Prefer`` headers, paging, JSON.

``graph_view`` wraps every Graph endpoint: it authenticates the caller, turns a
``GraphError`` into Graph's error body, reads JSON bodies, and stamps
``request-id`` / ``client-request-id`` on the answer.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from graph_sandbox.graph.auth import caller_for
from graph_sandbox.graph.errors import (
    ODATA_JSON,
    GraphError,
    bad_json,
    graph_error_response,
    request_ids,
)
from graph_sandbox.headers import request_header
from graph_sandbox.timefmt import BadTimeZone, zone

MAX_TOP = 1000
DEFAULT_TOP = 10
MAX_SKIP = 2**31 - 1  # far beyond any row count (SQLite's OFFSET fails past 2**63)
_PREFER_ITEM = re.compile(r'\s*([\w.]+)\s*(?:=\s*(?:"([^"]*)"|([^,;]*)))?')


def graph_view(methods: tuple[str, ...]) -> Callable:
    """Decorate a Graph endpoint ``view(request, caller, **kwargs)``."""

    def decorator(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, **kwargs) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise GraphError(
                        405,
                        "UnknownError",
                        f"The HTTP method '{request.method}' is not allowed on this resource.",
                    )
                response = view(request, caller_for(request), **kwargs)
            except GraphError as exc:
                return graph_error_response(request, exc)
            rid, client_rid = request_ids(request)
            response["request-id"] = rid
            response["client-request-id"] = client_rid
            return response

        return wrapper

    return decorator


def json_body(request: HttpRequest) -> dict:
    """The request's JSON object; Graph's 400 when it is not one."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise bad_json()
    if not isinstance(body, dict):
        raise bad_json()
    return body


def graph_json(data: dict, *, status: int = 200, preference_applied: str = "") -> JsonResponse:
    response = JsonResponse(data, status=status, content_type=ODATA_JSON)
    if preference_applied:
        response["Preference-Applied"] = preference_applied
    return response


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


# --- Prefer --------------------------------------------------------------------------


def preferences(request: HttpRequest) -> dict[str, str]:
    """``Prefer: outlook.timezone="…", odata.maxpagesize=50`` as a dict (names lower case)."""
    result: dict[str, str] = {}
    for header in request_header(request, "Prefer").split(","):
        match = _PREFER_ITEM.match(header)
        if match and match.group(1):
            value = match.group(2) if match.group(2) is not None else (match.group(3) or "")
            result[match.group(1).lower()] = value.strip()
    return result


def output_time_zone(request: HttpRequest) -> tuple[str, str]:
    """(zone name for answers, Preference-Applied value). UTC unless the client prefers.

    Like Graph, an unknown zone in ``Prefer`` is ignored rather than refused.
    """
    name = preferences(request).get("outlook.timezone", "")
    if not name:
        return "UTC", ""
    try:
        zone(name)
    except BadTimeZone:
        return "UTC", ""
    return name, f'outlook.timezone="{name}"'


def max_page_size(request: HttpRequest, default: int) -> int:
    raw = preferences(request).get("odata.maxpagesize", "")
    return _bounded_int(raw, default=default, name="odata.maxpagesize") if raw else default


# --- query options -----------------------------------------------------------------


def query_value(request: HttpRequest, name: str) -> str | None:
    """A function parameter such as ``startDateTime``, whatever its case (Graph ignores it)."""
    wanted = name.lower()
    for key, value in request.GET.items():
        if key.lower() == wanted:
            return value
    return None


@dataclass(frozen=True)
class EntityType:
    """A type ``$select`` is checked against: its name in Graph's errors, and its properties."""

    name: str
    properties: frozenset[str]

    @functools.cached_property
    def _lower(self) -> frozenset[str]:
        return frozenset(p.lower() for p in self.properties)

    def has(self, name: str) -> bool:
        """Whether the type has ``name`` (property names are matched in any case)."""
        return name.lower() in self._lower


def select_fields(request: HttpRequest, entity: EntityType | None = None) -> set[str] | None:
    """The ``$select`` properties; with ``entity``, Graph's 400 for one it does not have."""
    raw = request.GET.get("$select", "")
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    if entity is not None:
        for name in fields:
            _require_property(entity, name)
    return set(fields) or None


def _require_property(entity: EntityType, name: str) -> None:
    """Graph's 400 for a property the type does not have."""
    if not entity.has(name):
        raise GraphError(
            400,
            "RequestBroker--ParseUri",
            f"Could not find a property named '{name}' on type '{entity.name}'.",
        )


def apply_select(item: dict, fields: set[str] | None) -> dict:
    """Keep ``id``, OData annotations and the ``$select`` fields (case-insensitively)."""
    if not fields:
        return item
    wanted = {f.lower() for f in fields}
    return {k: v for k, v in item.items() if k == "id" or k.startswith("@") or k.lower() in wanted}


def ordering(request: HttpRequest, entity: EntityType, sortable: dict[str, str]) -> list[str]:
    """Django ``order_by`` terms for ``$orderby`` (empty: the caller's default order).

    ``sortable`` maps lower-case OData paths (``start/datetime``) to model fields.
    A property the type does not have is Graph's 400; one the sandbox cannot sort
    by is refused plainly rather than ignored.
    """
    terms = []
    for clause in request.GET.get("$orderby", "").split(","):
        path, _, direction = clause.strip().partition(" ")
        direction = direction.strip().lower() or "asc"
        if not path:
            continue
        _require_property(entity, path.split("/")[0])
        field = sortable.get(path.lower())
        if field is None or direction not in ("asc", "desc"):
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                f"The Graph sandbox cannot order by '{clause.strip()}'.",
            )
        terms.append(("-" if direction == "desc" else "") + field)
    return terms


def top_and_skip(request: HttpRequest, *, default_top: int = DEFAULT_TOP) -> tuple[int, int]:
    top = _bounded_int(request.GET.get("$top", ""), default=default_top, name="$top")
    skip = request.GET.get("$skip", "") or "0"
    if not (skip.isascii() and skip.isdigit()) or int(skip) > MAX_SKIP:
        raise GraphError(400, "BadRequest", f"Invalid value '{skip}' for $skip query option.")
    return top, int(skip)


def refuse_options(request: HttpRequest, options: tuple[str, ...], resource: str) -> None:
    """400 when the request uses a query option ``resource`` does not support."""
    used = [o for o in options if o in request.GET]
    if used:
        raise GraphError(
            400,
            "ErrorInvalidUrlQuery",
            f"The following parameters are not supported with change tracking over the "
            f"'{resource}' resource: '{', '.join(used)}'.",
        )


def next_link(request: HttpRequest, **changes: int | str) -> str:
    """This request's URL with some query options replaced (for ``@odata.nextLink``)."""
    query = request.GET.copy()
    for name, value in changes.items():
        query[name] = str(value)
    return request.build_absolute_uri(request.path) + "?" + urlencode(query, safe="$:,'")


def context_url(request: HttpRequest, fragment: str) -> str:
    return request.build_absolute_uri("/v1.0/$metadata") + "#" + fragment


def _bounded_int(raw: str, *, default: int, name: str) -> int:
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # "²" passes isdigit()
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for {name} query option.")
    return min(int(raw), MAX_TOP)
