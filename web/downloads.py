"""CSV and XLSX downloads of exactly the tickets a list filter selects (all pages), read in batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook
from sqlmodel import Session

from bot.render import area_label, local_time, priority_label, status_label, target_label
from cases.models import Ticket
from cases.rules.schema import Rules
from cases.ticket_filter import TicketFilter, batches
from web.texts import wt

COLUMNS = ("w_number", "w_status", "w_category", "w_priority", "w_grid", "w_team", "w_holder", "w_created",
           "w_deadline", "w_text")


def _row(rules: Rules, ticket: Ticket, lang: str) -> list[Any]:
    return [ticket.number, status_label(ticket.status, lang), rules.category_name(ticket.category, lang),
            priority_label(ticket.priority, lang), area_label(rules, ticket.area, lang),
            target_label(rules, ticket.target, lang), ticket.claimed_by or "",
            local_time(rules, ticket.created_at), local_time(rules, ticket.resolve_by), ticket.text]


def _rows(db: Session, rules: Rules, flt: TicketFilter, lang: str, now: datetime) -> Iterator[list[Any]]:
    yield [wt(key, lang) for key in COLUMNS]
    for chunk in batches(db, rules, flt, now=now):
        for ticket in chunk:
            yield _row(rules, ticket, lang)


def _name(now: datetime, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="tickets-{now:%Y%m%d-%H%M}.{ext}"'}


def csv_response(db: Session, rules: Rules, flt: TicketFilter, *, lang: str, now: datetime) -> Response:
    """UTF-8 CSV (with a BOM so spreadsheet programs read the Chinese right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for row in _rows(db, rules, flt, lang, now):
        writer.writerow(row)
    return StreamingResponse(iter([out.getvalue().encode()]), media_type="text/csv; charset=utf-8",
                             headers=_name(now, "csv"))


def xlsx_response(db: Session, rules: Rules, flt: TicketFilter, *, lang: str, now: datetime) -> Response:
    """One worksheet, a header row then one row per ticket."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("tickets")
    for row in _rows(db, rules, flt, lang, now):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), headers=_name(now, "xlsx"),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
