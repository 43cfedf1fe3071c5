"""``gridbot tickets list|show|export``: read-only views of tickets for admins and oversight."""

from __future__ import annotations

import contextlib
import json
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

import typer
from sqlmodel import Session, col, select

from bot import texts
from bot.render import event_label, priority_label, status_label
from cases.clock import as_utc
from cases.db import read_scope
from cases.export import CsvRows, event_record, ticket_record, write_xlsx
from cases.models import Person, Status, Ticket, TicketEvent
from cases.open311 import service_request
from cases.rules.schema import Rules
from cases.services import tickets as svc
from cases.services.errors import InvalidInput, NotFound
from cli import common
from cli import texts as cli_texts
from cli.db_cmd import open_database, open_rules

tickets_app = typer.Typer(help="List, show and export tickets.", no_args_is_help=True)

class Format(StrEnum):
    """Export formats."""

    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    OPEN311 = "open311"


def register(app: typer.Typer) -> None:
    """Add the ``tickets`` command group to ``app``."""
    app.add_typer(tickets_app, name="tickets")


def _local(value: datetime | None, rules: Rules) -> str:
    return as_utc(value).astimezone(rules.zone).strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _names(session: Session, ids: set[int | None], lang: str = "en") -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    found = session.exec(select(Person).where(col(Person.id).in_(wanted))).all()
    return {p.id: p.name or cli_texts.t("user_label", lang, id=p.telegram_id) for p in found if p.id is not None}


def _number(text: str) -> int:
    try:
        return int(text.strip().lstrip("#"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a ticket number such as 12 or #12") from None


def _select(session: Session, rules: Rules, status: str | None, area: str | None, limit: int, *,
            after_id: int | None = None) -> list[Ticket]:
    """Newest first; or, paging with ``after_id``, oldest first from the ticket after it."""
    if status is not None and status not in {s.value for s in Status}:
        raise typer.BadParameter(f"unknown status {status!r}; use one of: {', '.join(s.value for s in Status)}")
    try:
        return svc.list_tickets(session, rules=rules, status=status, scope=area, limit=limit,
                                newest_first=after_id is None, after_id=after_id)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc)) from None


@tickets_app.command("list")
def list_cmd(
    status: str | None = typer.Option(None, "--status", help="only this status (open, claimed, ...)"),
    area: str | None = typer.Option(None, "--area", help="only tickets within this area, or team:<id>"),
    limit: int = typer.Option(50, "--limit", min=1, help="at most this many, newest first"),
) -> None:
    """List tickets, newest first."""
    lang = common.lang()
    rules, engine = open_rules(), open_database()
    try:
        with read_scope(engine) as session:
            found = _select(session, rules, status, area, limit)
            names = _names(session, {t.claimed_by for t in found}, lang)
    finally:
        engine.dispose()
    if not found:
        typer.echo(cli_texts.t("tickets_none", lang))
        return
    rows: list[list[object]] = [list[object](cli_texts.t("tickets_columns", lang).split("|"))]
    rows += [[t.number, status_label(t.status, lang), rules.category_name(t.category, lang),
              priority_label(t.priority, lang),
              rules.target_name(t.target, lang) if t.target else cli_texts.t("no_place", lang),
              _local(t.created_at, rules), names.get(t.claimed_by or 0, "-")] for t in found]
    widths = (*(max(_width(row[i]) for row in rows) + 2 for i in range(len(rows[0]) - 1)), 0)
    for row in rows:
        typer.echo(_columns(row, widths).rstrip())
    typer.echo(cli_texts.t("tickets_count", lang, count=len(found), tickets=cli_texts.plural_tickets(len(found), lang)))


def _columns(values: Sequence[object], widths: tuple[int, ...]) -> str:
    """``values`` padded to ``widths`` (a Chinese character counts two), one space at least between them."""
    return "".join(str(value) + " " * max(width - _width(value), 1 if width else 0)
                   for value, width in zip(values, widths, strict=True))


def _width(value: object) -> int:
    """How many columns ``value`` takes in a terminal (a Chinese character two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(value))


@tickets_app.command("show")
def show(number: str = typer.Argument(..., help="ticket number, e.g. 12 or #12")) -> None:
    """Show one ticket with its whole history."""
    ticket_id = _number(number)
    lang = common.lang()
    rules, engine = open_rules(), open_database()
    try:
        with read_scope(engine) as session:
            try:
                t = svc.get(session, ticket_id)
            except NotFound as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
            events = svc.history(session, ticket_id)
            names = _names(session, {t.reporter_id, t.claimed_by, *(e.actor_id for e in events)}, lang)
    finally:
        engine.dispose()
    typer.echo(cli_texts.t("ticket_head", lang, number=t.number, status=status_label(t.status, lang)))
    labels = cli_texts.t("ticket_rows", lang).split("|")
    values = [
        cli_texts.t("ticket_category", lang, category=rules.category_name(t.category, lang), id=t.category,
                    priority=priority_label(t.priority, lang)),
        cli_texts.t("name_with_id", lang, name=rules.target_name(t.target, lang), id=t.target) if t.target
        else cli_texts.t("place_unknown", lang),
        rules.area_name(t.area, lang) if t.area else "-",
        names.get(t.reporter_id, str(t.reporter_id)),
        names.get(t.claimed_by or 0, "-"),
        _local(t.created_at, rules),
        _local(t.claim_by, rules),
        _local(t.resolve_by, rules),
        str(t.escalation_level),
        str(t.reopen_count),
        str(t.rating) if t.rating is not None else "-",
        t.text,
    ]
    if t.merged_into:
        values.append(f"#{t.merged_into}")
    width = max(_width(label) for label in labels[:len(values)]) + 1
    for label, value in zip(labels, values, strict=False):
        typer.echo(f"  {_columns([label], (width,))}{value}")
    typer.echo(cli_texts.t("ticket_history", lang))
    for e in events:  # in words of the catalogue, a first event without a status before it
        moved = e.from_status and e.to_status and e.to_status != e.from_status
        move = texts.t("event_move", lang, before=status_label(e.from_status or "", lang),
                       after=status_label(e.to_status or "", lang)) if moved else ""
        system = cli_texts.t("ticket_system", lang)
        who = names.get(e.actor_id or 0, system) if e.actor_id else system
        typer.echo("  " + cli_texts.t("ticket_event", lang, at=_local(e.at, rules), what=event_label(e.kind, lang),
                                      move=move, who=who,
                                      internal=cli_texts.t("ticket_internal", lang) if not e.public else "",
                                      note=cli_texts.t("ticket_note", lang, note=e.note) if e.note else ""))


EXPORT_BATCH = 1000
"""Tickets read, converted and written at a time: an export of years of tickets runs in bounded memory."""


def _export_batches(session: Session, rules: Rules, status: str | None, area: str | None,
                    with_history: bool) -> Iterator[tuple[list[Ticket], dict[int, list[TicketEvent]], dict[int, str]]]:
    """The selected tickets oldest first, :data:`EXPORT_BATCH` at a time, with their history (when wanted)
    and the names of the people involved."""
    after = 0
    while True:
        batch = _select(session, rules, status, area, EXPORT_BATCH, after_id=after)
        if not batch:
            return
        events: dict[int, list[TicketEvent]] = {}
        if with_history:
            query = (select(TicketEvent).where(col(TicketEvent.ticket_id).in_([t.id for t in batch]))
                     .order_by(col(TicketEvent.ticket_id), col(TicketEvent.at), col(TicketEvent.id)))
            for e in session.exec(query):
                events.setdefault(e.ticket_id, []).append(e)
        ids = {t.reporter_id for t in batch} | {t.claimed_by for t in batch}
        ids |= {e.actor_id for evs in events.values() for e in evs}
        yield batch, events, _names(session, ids)
        after = batch[-1].id or after
        session.expunge_all()  # what was written is not kept


def _wrote(count: int, output: Path) -> None:
    lang = common.lang()
    typer.echo(cli_texts.t("export_wrote", lang, count=count, tickets=cli_texts.plural_tickets(count, lang),
                           path=output), err=True)


def _json_item(value: Any) -> str:
    """One element of a JSON array as ``json.dumps(array, indent=2)`` writes it."""
    return "  " + json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")


def _rows(batches: Iterable[tuple[list[Ticket], dict[int, list[TicketEvent]], dict[int, str]]]
          ) -> Iterator[dict[str, Any]]:
    """Every ticket of ``batches`` as an export row."""
    for tickets, _, names in batches:
        for t in tickets:
            yield ticket_record(t, names)


def _write_export(out: TextIO, fmt: Format, batches: Iterable[tuple[list[Ticket], dict[int, list[TicketEvent]],
                                                                     dict[int, str]]],
                  rules: Rules, lang: str) -> int:
    """Write the export to ``out`` batch by batch; the number of tickets written."""
    count = 0
    if fmt is Format.CSV:
        rows = CsvRows(out)
        for row in _rows(batches):
            rows.write(row)
            count += 1
        return count
    for tickets, events, names in batches:
        for t in tickets:
            if fmt is Format.OPEN311:
                item = service_request(t, rules, lang=lang)
            else:
                item = ticket_record(t, names) | {"history": [event_record(e, names)
                                                              for e in events.get(t.id or 0, [])]}
            out.write(("[\n" if count == 0 else ",\n") + _json_item(item))
            count += 1
    out.write("\n]\n" if count else "[]\n")
    return count


@tickets_app.command("export")
def export(
    fmt: Format = typer.Option(Format.CSV, "--format", help="csv (one row per ticket, opens in Excel), xlsx (the "
                               "same rows as a workbook; needs --output), json (with history) or open311 "
                               "(GeoReport v2 service requests, no personal data)"),
    lang_option: str | None = typer.Option(None, "--lang", help="language of the names in open311 (zh or en; "
                                           "default zh)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to this file instead of stdout"),
    status: str | None = typer.Option(None, "--status", help="only this status"),
    area: str | None = typer.Option(None, "--area", help="only tickets within this area, or team:<id>"),
) -> None:
    """Export tickets (oldest first) as CSV, XLSX, JSON (with each ticket's history) or Open311 GeoReport v2.

    It only reads (the bot keeps working meanwhile) and streams, so memory stays small however many
    tickets there are; a file is written whole or not at all."""
    lang = lang_option or common.explicit_lang() or "zh"  # data, not words: GRIDBOT_LANG does not change it
    if fmt is Format.XLSX and output is None:
        typer.echo(cli_texts.t("export_xlsx_needs_file", common.lang()), err=True)
        raise typer.Exit(2)
    rules, engine = open_rules(), open_database()
    partial = output.with_name(output.name + ".partial") if output is not None else None
    try:
        if fmt is Format.XLSX and output is not None and partial is not None:
            with read_scope(engine) as session:
                count = write_xlsx(partial, _rows(_export_batches(session, rules, status, area, with_history=False)))
            partial.replace(output)
            _wrote(count, output)
            return
        with read_scope(engine) as session, (partial.open("w", encoding="utf-8", newline="")
                                             if partial is not None else contextlib.nullcontext(sys.stdout)) as out:
            batches = _export_batches(session, rules, status, area, with_history=fmt is Format.JSON)
            count = _write_export(out, fmt, batches, rules, lang)
        if output is not None and partial is not None:
            partial.replace(output)
            _wrote(count, output)
    finally:
        engine.dispose()
        if partial is not None:
            partial.unlink(missing_ok=True)
