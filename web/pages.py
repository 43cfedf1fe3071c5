"""The console's pages (GET only, nothing changes): overview with KPIs, map and league tables; the ticket
list and its downloads; the ticket page. Each checks the viewer's area scope with
:func:`cases.services.web_access.may_view_area` or the ticket with :func:`cases.services.authz.can_view`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from bot.render import explain_short
from bot.routing_texts import render_explanation
from cases.clock import as_utc
from cases.db import read_scope
from cases.digest import ACTIVE, TREND_DAYS, GridRow, build_digest
from cases.kpi import overview
from cases.models import Person, Ticket
from cases.rules.schema import Rules
from cases.services import authz
from cases.services import tickets as svc
from cases.services.errors import InvalidInput, NotFound
from cases.services.people import staff_for_target
from cases.services.web_access import may_view_area
from cases.ticket_filter import PAGE_SIZE, TicketFilter, page
from web.common import Refused, Viewer, render, viewer
from web.config import WebConfig
from web.downloads import csv_response, xlsx_response
from web.svgmap import project

MAX_POINTS = 2000


def _area(config: WebConfig, db: Session, who: Viewer, raw: str | None) -> str:
    area = raw or who.home
    if area not in config.rules.areas:
        raise Refused(404, "w_err_not_found")
    if not may_view_area(db, config.rules, who.person, area):
        raise Refused(403, "w_err_forbidden")
    return area


def _day(config: WebConfig, raw: str | None) -> date:
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise Refused(400, "w_err_input", detail=raw) from None
    return as_utc(config.clock()).astimezone(config.rules.zone).date()


def _filter(request: Request, config: WebConfig, db: Session, who: Viewer) -> TicketFilter:
    params = dict(request.query_params)
    try:
        flt = TicketFilter.from_params(params)
    except InvalidInput as exc:
        raise Refused(400, "w_err_input", detail=str(exc)) from None
    area = _area(config, db, who, flt.area or None)
    return replace(flt, area=area)


def router(config: WebConfig) -> APIRouter:
    """The page routes, bound to ``config``."""
    pages = APIRouter()
    rules = config.rules

    def map_values(db: Session, area: str, grids_status: Mapping[str, GridRow]) -> dict[str, Any]:
        grids = rules.grids_within(area)
        projected = project(rules, grids)
        points: list[tuple[float, float, Ticket]] = []
        if projected is not None:
            proj, _ = projected
            for ticket in db.exec(
                select(Ticket).where(col(Ticket.area).in_(grids), col(Ticket.status).in_(ACTIVE),
                                     col(Ticket.lat).is_not(None)).limit(MAX_POINTS)
            ).all():
                assert ticket.lat is not None and ticket.lon is not None
                x, y = proj.xy(ticket.lon, ticket.lat)
                points.append((x, y, ticket))
        return {"projected": projected, "points": points, "grid_rows": grids_status}

    @pages.get("/console", response_class=HTMLResponse)
    def console(request: Request) -> Response:
        with read_scope(config.engine) as db:
            who = viewer(request, config, db)
            area = _area(config, db, who, request.query_params.get("area"))
            day = _day(config, request.query_params.get("day"))
            view = overview(db, rules=rules, area=area, day=day, now=config.clock())
            children = [c for c in rules.areas[area].children if may_view_area(db, rules, who.person, c)]
            rows = {row.grid: row for row in view.digest.grids}
            return render(request, config, "overview.html", who.lang, viewer=who, area=area, day=day, view=view,
                          children=children, chain=list(reversed(rules.ancestors(area))),
                          c7=day - timedelta(days=6), c30=day - timedelta(days=TREND_DAYS - 1),
                          leagues=sorted(view.digest.grids, key=lambda r: (-(r.on_time_rate_30d or 0), r.grid)),
                          **map_values(db, area, rows))

    @pages.get("/console/map", response_class=HTMLResponse)
    def map_page(request: Request) -> Response:
        with read_scope(config.engine) as db:
            who = viewer(request, config, db)
            area = _area(config, db, who, request.query_params.get("area"))
            digest = build_digest(db, rules=rules, area=area, day=_day(config, None), now=config.clock(),
                                  max_listed=0, light=True)  # the grids' colours: the digest's rule
            rows = {row.grid: row for row in digest.grids}
            return render(request, config, "map.html", who.lang, viewer=who, area=area,
                          chain=list(reversed(rules.ancestors(area))), **map_values(db, area, rows))

    @pages.get("/console/tickets", response_class=HTMLResponse)
    def tickets(request: Request) -> Response:
        with read_scope(config.engine) as db:
            who = viewer(request, config, db)
            flt = _filter(request, config, db, who)
            found, total = page(db, rules, flt, now=config.clock())
            holders = _people(db, {t.claimed_by for t in found})
            return render(request, config, "tickets.html", who.lang, viewer=who, flt=flt, tickets=found,
                          total=total, holders=holders, page_size=PAGE_SIZE, area=flt.area,
                          chain=list(reversed(rules.ancestors(flt.area))))

    @pages.get("/console/tickets.{fmt}")
    def download(request: Request, fmt: str) -> Response:
        if fmt not in ("csv", "xlsx"):
            raise Refused(404, "w_err_not_found")
        with read_scope(config.engine) as db:
            who = viewer(request, config, db)
            flt = _filter(request, config, db, who)
            make = csv_response if fmt == "csv" else xlsx_response
            return make(db, rules, flt, lang=who.lang, now=config.clock())

    @pages.get("/console/tickets/{ticket_id}", response_class=HTMLResponse)
    def ticket_page(request: Request, ticket_id: int) -> Response:
        with read_scope(config.engine) as db:
            who = viewer(request, config, db)
            try:
                ticket = svc.get(db, ticket_id)
            except NotFound:
                raise Refused(404, "w_err_not_found") from None
            if not authz.can_view(db, rules, who.person, ticket):
                raise Refused(403, "w_err_forbidden")
            events = svc.history(db, ticket_id)
            people = _people(db, {e.actor_id for e in events} | {ticket.claimed_by})
            may = {perm: authz.can(db, rules, who.person, perm, ticket)
                   for perm in ("reassign", "transfer", "cancel", "merge", "unhold")}
            workers = _workers(db, config, ticket) if may["reassign"] else []
            outline = project(rules, [ticket.area]) if ticket.area else None
            spot = outline[0].xy(ticket.lon, ticket.lat) if outline and ticket.lat is not None \
                and ticket.lon is not None else None
            return render(request, config, "ticket.html", who.lang, viewer=who, ticket=ticket, events=events,
                          people=people, may=may, workers=workers, why=_why(ticket, rules, who.lang),
                          outline=outline, spot=spot, area=ticket.area or rules.root,
                          answers=_answers(ticket, rules, who.lang),
                          chain=list(reversed(rules.ancestors(ticket.area or rules.root))),
                          targets=[f"grid:{g}" for g in rules.grids] + [f"team:{t}" for t in rules.teams])

    @pages.get("/console/tickets/{ticket_id}/photo/{event_id}")
    def photo(request: Request, ticket_id: int, event_id: int) -> Response:
        """The report's photo (``event_id`` 0) or the one a history event carries (a resolution's)."""
        with read_scope(config.engine) as db:
            who = viewer(request, config, db)
            ticket = db.get(Ticket, ticket_id)
            if ticket is None or not authz.can_view(db, rules, who.person, ticket):
                raise Refused(404, "w_err_not_found")
            file_id = ticket.photo_file_id if event_id == 0 else next(
                (e.data.get("photo_file_id") for e in svc.history(db, ticket_id) if e.id == event_id), None)
        data = config.photos.get(str(file_id)) if file_id and config.photos is not None else None
        if data is None:
            raise Refused(404, "w_err_not_found")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})

    return pages


def _people(db: Session, ids: set[int | None]) -> dict[int, Person]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {p.id: p for p in db.exec(select(Person).where(col(Person.id).in_(wanted))).all() if p.id is not None}


def _workers(db: Session, config: WebConfig, ticket: Ticket) -> list[Person]:
    return staff_for_target(db, config.rules, ticket.target) if ticket.target else []


def _answers(ticket: Ticket, rules: Rules, lang: str) -> list[tuple[str, str]]:
    """The Open311 attribute answers stored with the ticket as (question, answer) in ``lang``, in the rules'
    order (list keys by their names; an answer to a question the rules no longer ask, by its code)."""
    given = dict(ticket.service_attributes or {})
    category = rules.categories.get(ticket.category)
    out = []
    for attribute in category.attributes if category else []:
        if attribute.code in given:
            value = given.pop(attribute.code)
            values = value if isinstance(value, list) else [value]
            names = [attribute.values[v].get(lang) if v in attribute.values else str(v) for v in values]
            out.append((attribute.description.get(lang), "、".join(names) if lang == "zh" else ", ".join(names)))
    return out + [(code, str(value)) for code, value in given.items()]


def _why(ticket: Ticket, rules: Rules, lang: str) -> str:
    """The routing explanation stored with the ticket, whole, in the viewer's language."""
    explanation = ticket.explanation or {}
    lines = render_explanation(explanation, rules, lang) if "category" in explanation else []
    return "\n".join(lines) if lines else explain_short(ticket, rules, lang)
