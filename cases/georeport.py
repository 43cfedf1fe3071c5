"""The Open311 GeoReport v2 API's domain side: the service list, the request search (with the spec's
defaults) and opening a ticket from a POST through the same routing as a chat report.

Search defaults (GeoReport v2): without ``start_date``/``end_date`` the last 90 days; at most 1,000 results.
Paging extension: ``page_size`` (1..1000) and ``after`` (a service_request_id: only higher ids) page through
any result oldest first; a response holding exactly ``page_size`` rows may have more.
No personal data leaves through a GET: reporters are never named and phone-like digit runs in the
description are masked (see :func:`cases.open311.service_request`).

A POST may carry ``media_url`` (an http(s) link to the city system's photo; returned in GETs as given, the
only media a GET names) and ``attribute[code]`` answers to the category's questions (``attributes`` in the
rules; ``attribute[code][]`` for each value of a multivaluelist), checked against the service definition
and stored on the ticket for staff; a GET never returns them (the spec has no such field).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from cases.models import ApiKey, Person, Status, Ticket
from cases.open311 import CLOSED_STATUSES
from cases.routing.router import Report, apply_routes, route
from cases.rules.schema import Rules
from cases.services import tickets as svc
from cases.services.api_keys import check_area, check_rate
from cases.services.errors import InvalidInput, NotFound

DEFAULT_DAYS = 90
MAX_RESULTS = 1000
MAX_MEDIA_URL = 2000
MAX_ANSWER = {"string": 200, "text": 2000}

def services(rules: Rules, lang: str) -> list[dict[str, Any]]:
    """Every category as a GeoReport service (``metadata`` true when it asks attributes)."""
    return [
        {"service_code": code, "service_name": cat.name.get(lang), "description": cat.name.get(lang),
         "metadata": bool(cat.attributes), "type": "realtime", "keywords": ",".join(cat.keywords[:10]),
         "group": cat.priority}
        for code, cat in rules.categories.items()
    ]


def service_definition(rules: Rules, code: str, lang: str) -> dict[str, Any]:
    """The category's GeoReport service definition: its attributes in the rules' order."""
    if code not in rules.categories:
        raise NotFound(f"service_code {code!r} not found")
    attributes = [
        {"variable": True, "code": a.code, "datatype": a.datatype, "required": a.required,
         "datatype_description": "", "order": n, "description": a.description.get(lang),
         "values": [{"key": key, "name": name.get(lang)} for key, name in a.values.items()]}
        for n, a in enumerate(rules.categories[code].attributes, start=1)
    ]
    return {"service_code": code, "attributes": attributes}


def check_attributes(rules: Rules, service_code: str, given: dict[str, list[str]]) -> dict[str, Any]:
    """The answers ``given`` (code: its values) checked against the service definition: known codes only,
    every required one answered, numbers, date-times and list keys valid; a list for a multivaluelist, one
    value otherwise. InvalidInput names the first attribute that is not."""
    asked = {a.code: a for a in rules.categories[service_code].attributes}
    unknown = sorted(set(given) - set(asked))
    if unknown:
        raise InvalidInput(f"attribute {unknown[0]!r} is not asked by service {service_code!r}")
    answers: dict[str, Any] = {}
    for code, attribute in asked.items():
        values = [v.strip() for v in given.get(code, []) if v.strip()]
        if not values:
            if attribute.required:
                raise InvalidInput(f"attribute {code!r} is required")
            continue
        if attribute.datatype != "multivaluelist" and len(values) > 1:
            raise InvalidInput(f"attribute {code!r} takes one value")
        for value in values:
            _check_value(code, attribute.datatype, value, attribute.values)
        answers[code] = values if attribute.datatype == "multivaluelist" else values[0]
    return answers


def _check_value(code: str, datatype: str, value: str, keys: dict[str, Any]) -> None:
    if datatype.endswith("valuelist") and value not in keys:
        raise InvalidInput(f"attribute {code!r}: {value!r} is not one of {', '.join(keys)}")
    if datatype == "number":
        try:
            float(value)
        except ValueError:
            raise InvalidInput(f"attribute {code!r} must be a number") from None
    if datatype == "datetime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"attribute {code!r} must be a w3c date-time") from None
    if len(value) > MAX_ANSWER.get(datatype, MAX_ANSWER["string"]):
        raise InvalidInput(f"attribute {code!r} is too long")


def check_media_url(value: str | None) -> str | None:
    """A POSTed ``media_url``: an absolute http(s) URL of at most :data:`MAX_MEDIA_URL` characters, or None."""
    if value is None or not value.strip():
        return None
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > MAX_MEDIA_URL:
        raise InvalidInput("media_url must be an http or https URL")
    return url


@dataclass(frozen=True)
class RequestQuery:
    """A GET requests search: the spec's filters plus the paging extension."""

    ids: tuple[int, ...] = ()
    service_codes: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    page_size: int = MAX_RESULTS
    after: int | None = None


def search(session: Session, query: RequestQuery, *, now: datetime) -> list[Ticket]:
    """Tickets matching ``query`` oldest first; drafts are never listed (they have no place yet)."""
    if not 1 <= query.page_size <= MAX_RESULTS:
        raise InvalidInput(f"page_size must be between 1 and {MAX_RESULTS}")
    stmt = select(Ticket).where(col(Ticket.status) != Status.DRAFT.value)
    if query.ids:
        stmt = stmt.where(col(Ticket.id).in_(query.ids))
    else:
        end = query.end or now
        start = query.start or end - timedelta(days=DEFAULT_DAYS)
        if start > end:
            raise InvalidInput("start_date is after end_date")
        stmt = stmt.where(col(Ticket.created_at) >= start, col(Ticket.created_at) <= end)
    if query.service_codes:
        stmt = stmt.where(col(Ticket.category).in_(query.service_codes))
    if query.status == "open":
        stmt = stmt.where(col(Ticket.status).not_in(CLOSED_STATUSES))
    elif query.status == "closed":
        stmt = stmt.where(col(Ticket.status).in_(CLOSED_STATUSES))
    elif query.status is not None:
        raise InvalidInput("status must be open or closed")
    if query.after is not None:
        stmt = stmt.where(col(Ticket.id) > query.after)
    return list(session.exec(stmt.order_by(col(Ticket.id)).limit(query.page_size)).all())


def one(session: Session, ticket_id: int) -> Ticket:
    """The listed ticket with this id; NotFound for drafts and unknown ids."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status == Status.DRAFT.value:
        raise NotFound(f"service_request_id {ticket_id} not found")
    return ticket


def open_request(
    session: Session, *, rules: Rules, key: ApiKey, service_code: str, description: str,
    lat: float | None, lon: float | None, address_string: str | None, address_id: str | None, now: datetime,
    media_url: str | None = None, attributes: dict[str, list[str]] | None = None,
) -> Ticket:
    """Open a ticket for a POSTed request: routed like a chat report (the given service_code is its
    category), reported by the key's person, its history naming the key, with its media_url and checked
    attribute answers. Needs a place inside the key's area; InvalidInput/PermissionDenied otherwise."""
    if service_code not in rules.categories:
        raise InvalidInput(f"unknown service_code {service_code!r}")
    media = check_media_url(media_url)
    answers = check_attributes(rules, service_code, attributes or {})
    if lat is None and lon is None and not address_string and not address_id:
        raise InvalidInput("a location is required: lat and long, address_string or address_id")
    if (lat is None) != (lon is None):
        raise InvalidInput("lat and long go together")
    if address_id is not None and address_id not in rules.areas:
        raise InvalidInput(f"unknown address_id {address_id!r}")
    text = " ".join(part for part in (description.strip(), (address_string or "").strip()) if part)
    if not text:
        text = rules.category_name(service_code, "zh")
    decision = route(Report(text=text, lat=lat, lon=lon, home_area=address_id), rules)
    priority = rules.categories[service_code].priority
    route_index, target, route_part = apply_routes(rules, service_code, priority, decision.area)
    if decision.area is None or target is None:
        raise InvalidInput("the location is not inside any grid of this district")
    check_area(rules, key, decision.area)
    check_rate(session, key, now=now)
    reporter = session.get(Person, key.person_id)
    assert reporter is not None
    explanation = {**decision.to_dict(), "route": route_part, "via": f"open311:{key.name}"}
    session.info["via"] = f"open311:{key.name}"
    ticket, _ = svc.open_ticket(
        session, rules=rules, reporter=reporter, chat_id=reporter.telegram_id,
        message_id=secrets.randbelow(2**52), text=text, category=service_code, priority=priority,
        area=decision.area, target=target, route_index=route_index, explanation=explanation,
        lat=lat, lon=lon, now=now,
    )
    ticket.media_url, ticket.service_attributes = media, answers or None
    return ticket


def parse_ids(value: str | None) -> tuple[int, ...]:
    """A comma-separated id list; InvalidInput when any is not a number."""
    if not value:
        return ()
    try:
        return tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise InvalidInput("service_request_id must be numbers separated by commas") from None

