"""Tickets as Open311 GeoReport v2 service requests, the standard format city systems exchange
(https://wiki.open311.org/GeoReport_v2): what ``gridbot tickets export --format open311`` writes.

GeoReport knows two statuses: a ticket is ``open`` until it is closed, cancelled or merged. Gridbot's own
status goes in ``status_notes``. Times carry the rules' time zone offset. Nothing about the reporter is
included and phone-like digit runs in the description (the resident's own words) are masked; ``media_url``
is only ever the link a city system gave in its own Open311 POST (a resident's chat photo is never linked).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cases.clock import as_utc
from cases.models import Status, Ticket
from cases.rules.schema import Rules

CLOSED_STATUSES = frozenset({Status.CLOSED.value, Status.CANCELLED.value, Status.MERGED.value})
_NOTES = {
    Status.DRAFT.value: "waiting for the place",
    Status.OPEN.value: "waiting for a grid worker",
    Status.CLAIMED.value: "being handled",
    Status.RESOLVED.value: "resolved, waiting for the resident's confirmation",
    Status.CLOSED.value: "closed",
    Status.CANCELLED.value: "cancelled",
}

_DIGITS = re.compile(r"\d[\d\- ]{5,}\d")


def mask_personal(text: str) -> str:
    """The text with phone-like runs of 7 or more digits replaced by ``***`` (no personal data leaves)."""
    return _DIGITS.sub("***", text)


def _time(value: datetime | None, rules: Rules) -> str | None:
    return as_utc(value).astimezone(rules.zone).isoformat(timespec="seconds") if value is not None else None


def service_request(ticket: Ticket, rules: Rules, *, lang: str = "zh") -> dict[str, Any]:
    """One ticket as a GeoReport v2 service request (names in ``lang``)."""
    if ticket.status == Status.MERGED.value:
        notes = f"merged into {ticket.merged_into}, the same problem"
    else:
        notes = _NOTES.get(ticket.status, ticket.status)
    if ticket.escalation_level:
        notes += f"; escalation level {ticket.escalation_level}"
    return {
        "service_request_id": str(ticket.id),
        "status": "closed" if ticket.status in CLOSED_STATUSES else "open",
        "status_notes": notes,
        "service_name": rules.category_name(ticket.category, lang),
        "service_code": ticket.category,
        "description": mask_personal(ticket.text),
        "agency_responsible": rules.target_name(ticket.target, lang) if ticket.target else "",
        "service_notice": "",
        "requested_datetime": _time(ticket.created_at, rules),
        "updated_datetime": _time(ticket.updated_at, rules),
        "expected_datetime": _time(ticket.resolve_by, rules),
        "address": rules.area_name(ticket.area, lang) if ticket.area else "",
        "address_id": ticket.area or "",
        "zipcode": None,
        "lat": ticket.lat,
        "long": ticket.lon,
        "media_url": ticket.media_url,  # only a city system's own link from an Open311 POST; chat photos never
    }
