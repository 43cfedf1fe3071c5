"""Ticket exports as rows (shared by the command line and any web console) and the spreadsheet writers.

A row is a plain mapping of :data:`EXPORT_FIELDS` to JSON-friendly values, so every adapter exports the
same columns. CSV starts with a UTF-8 byte-order mark, which is how Excel knows the file is UTF-8 (without
it Chinese text opens garbled); XLSX is written with openpyxl in write-only mode, a row at a time.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from cases.clock import as_utc
from cases.models import Ticket, TicketEvent

EXPORT_FIELDS = [
    "number", "status", "category", "priority", "area", "target", "reporter", "holder", "text",
    "created_at", "opened_at", "claimed_at", "resolved_at", "closed_at", "claim_by", "resolve_by",
    "escalation_level", "reopen_count", "rating", "merged_into", "held", "route_index", "lat", "lon",
]
"""The columns of a ticket export, in order."""

BOM = "\ufeff"
"""Written first in a CSV file: Excel reads the file as UTF-8 only when it is there."""


def iso(value: datetime | None) -> str | None:
    """A moment as an ISO 8601 string in UTC, or None."""
    return as_utc(value).isoformat() if value is not None else None


def ticket_record(t: Ticket, names: Mapping[int, str]) -> dict[str, Any]:
    """One ticket as an export row; ``names`` maps person ids to display names."""
    return {
        "number": t.id,
        "status": t.status,
        "category": t.category,
        "priority": t.priority,
        "area": t.area,
        "target": t.target,
        "reporter": names.get(t.reporter_id),
        "holder": names.get(t.claimed_by or 0),
        "text": t.text,
        "created_at": iso(t.created_at),
        "opened_at": iso(t.opened_at),
        "claimed_at": iso(t.claimed_at),
        "resolved_at": iso(t.resolved_at),
        "closed_at": iso(t.closed_at),
        "claim_by": iso(t.claim_by),
        "resolve_by": iso(t.resolve_by),
        "escalation_level": t.escalation_level,
        "reopen_count": t.reopen_count,
        "rating": t.rating,
        "merged_into": t.merged_into,
        "held": t.held,
        "route_index": t.route_index,
        "lat": t.lat,
        "lon": t.lon,
    }


def event_record(e: TicketEvent, names: Mapping[int, str]) -> dict[str, Any]:
    """One history event as an export item."""
    return {
        "at": iso(e.at),
        "kind": e.kind,
        "actor": names.get(e.actor_id or 0),
        "from": e.from_status,
        "to": e.to_status,
        "note": e.note,
        "public": e.public,
        "data": e.data,
    }


class CsvRows:
    """Writes export rows as CSV to a text stream: the byte-order mark and the header first."""

    def __init__(self, out: IO[str]) -> None:
        out.write(BOM)
        self._writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        self._writer.writeheader()

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one row."""
        self._writer.writerow(row)


def write_xlsx(out: str | Path | BinaryIO, rows: Iterable[Mapping[str, Any]], *, title: str = "tickets") -> int:
    """Write ``rows`` as an XLSX workbook (one sheet, a header row, frozen) to ``out``; the number of rows.

    Write-only mode keeps one row in memory at a time, so a large export stays small."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    sheet.append(EXPORT_FIELDS)
    count = 0
    for row in rows:
        sheet.append([_cell(row.get(field)) for field in EXPORT_FIELDS])
        count += 1
    book.save(out)
    return count


def _cell(value: Any) -> Any:
    """A value a spreadsheet cell holds: numbers, text and booleans as they are, anything else as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
