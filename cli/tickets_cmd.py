"""``gridbot tickets list|show|export``: read-only views of tickets for admins and oversight."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

import typer
from sqlmodel import Session, col, select

from bot import texts
from bot.render import event_label, status_label
from cases.clock import as_utc
from cases.db import read_scope
from cases.export import CsvRows, event_record, ticket_record, write_xlsx
from cases.models import Person, Status, Ticket, TicketEvent
from cases.open311 import service_request
from cases.rules.schema import Rules
from cases.services import tickets as svc
from cases.services.errors import InvalidInput, NotFound
from cli import common
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


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    found = session.exec(select(Person).where(col(Person.id).in_(wanted))).all()
    return {p.id: p.name or f"user {p.telegram_id}" for p in found if p.id is not None}


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
    rules, engine = open_rules(), open_database()
    try:
        with read_scope(engine) as session:
            found = _select(session, rules, status, area, limit)
            names = _names(session, {t.claimed_by for t in found})
    finally:
        engine.dispose()
    if not found:
        typer.echo("no tickets match")
        return
    typer.echo(f"{'number':<8}{'status':<11}{'category':<13}{'priority':<11}{'target':<26}{'created':<18}holder")
    for t in found:
        holder = names.get(t.claimed_by or 0, "-")
        typer.echo(
            f"{t.number:<8}{t.status:<11}{t.category:<13}{t.priority:<11}{t.target or '(no place)':<26}"
            f"{_local(t.created_at, rules):<18}{holder}"
        )
    typer.echo(f"{len(found)} ticket{'s' if len(found) != 1 else ''}")


@tickets_app.command("show")
def show(number: str = typer.Argument(..., help="ticket number, e.g. 12 or #12")) -> None:
    """Show one ticket with its whole history."""
    ticket_id = _number(number)
    rules, engine = open_rules(), open_database()
    try:
        with read_scope(engine) as session:
            try:
                t = svc.get(session, ticket_id)
            except NotFound as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
            events = svc.history(session, ticket_id)
            names = _names(session, {t.reporter_id, t.claimed_by, *(e.actor_id for e in events)})
    finally:
        engine.dispose()
    typer.echo(f"Ticket {t.number} — {t.status}")
    rows = [
        ("category", f"{rules.category_name(t.category, 'en')} ({t.category}), priority {t.priority}"),
        ("target", rules.target_name(t.target, "en") + f" ({t.target})" if t.target else "(place unknown)"),
        ("area", t.area or "-"),
        ("reporter", names.get(t.reporter_id, str(t.reporter_id))),
        ("holder", names.get(t.claimed_by or 0, "-")),
        ("created", _local(t.created_at, rules)),
        ("claim by", _local(t.claim_by, rules)),
        ("resolve by", _local(t.resolve_by, rules)),
        ("escalation", str(t.escalation_level)),
        ("reopened", str(t.reopen_count)),
        ("rating", str(t.rating) if t.rating is not None else "-"),
        ("text", t.text),
    ]
    if t.merged_into:
        rows.append(("merged into", f"#{t.merged_into}"))
    for label, value in rows:
        typer.echo(f"  {label:<11} {value}")
    typer.echo("History:")
    for e in events:  # in words (the catalogue's English), a first event without a status before it
        moved = e.from_status and e.to_status and e.to_status != e.from_status
        move = texts.t("event_move", "en", before=status_label(e.from_status or "", "en"),
                 after=status_label(e.to_status or "", "en")) if moved else ""
        who = names.get(e.actor_id or 0, "system") if e.actor_id else "system"
        note = f": {e.note}" if e.note else ""
        internal = " [internal]" if not e.public else ""
        typer.echo(f"  {_local(e.at, rules)}  {event_label(e.kind, 'en')}{move} by {who}{internal}{note}")


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
        typer.echo("an XLSX workbook is written to a file: add --output tickets.xlsx", err=True)
        raise typer.Exit(2)
    rules, engine = open_rules(), open_database()
    partial = output.with_name(output.name + ".partial") if output is not None else None
    try:
        if fmt is Format.XLSX and output is not None and partial is not None:
            with read_scope(engine) as session:
                count = write_xlsx(partial, _rows(_export_batches(session, rules, status, area, with_history=False)))
            partial.replace(output)
            typer.echo(f"wrote {count} ticket{'s' if count != 1 else ''} to {output}", err=True)
            return
        with read_scope(engine) as session, (partial.open("w", encoding="utf-8", newline="")
                                             if partial is not None else contextlib.nullcontext(sys.stdout)) as out:
            batches = _export_batches(session, rules, status, area, with_history=fmt is Format.JSON)
            count = _write_export(out, fmt, batches, rules, lang)
        if output is not None and partial is not None:
            partial.replace(output)
            typer.echo(f"wrote {count} ticket{'s' if count != 1 else ''} to {output}", err=True)
    finally:
        engine.dispose()
        if partial is not None:
            partial.unlink(missing_ok=True)
