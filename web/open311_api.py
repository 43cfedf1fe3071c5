"""``/open311/v2/``: the GeoReport v2 API (discovery, services, requests GET/POST) over :mod:`cases.georeport`.

GETs carry no personal data (see :func:`cases.open311.service_request`). Errors are the spec's array of
``{code, description}`` with 400 (bad input), 403 (api_key missing, wrong, out of area or over its rate)
and 404 (unknown service or request). Paging beyond the spec's 1,000 results: ``page_size`` and
``after`` (see :mod:`cases.georeport`). A POST's ``media_url`` and ``attribute[code]`` (``attribute[code][]``
for a multivaluelist) answers are checked and stored (:func:`cases.georeport.open_request`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from bot.dispatching import dispatch
from cases.clock import as_utc
from cases.db import read_scope, session_scope
from cases.georeport import (
    MAX_RESULTS,
    RequestQuery,
    one,
    open_request,
    parse_ids,
    search,
    service_definition,
    services,
)
from cases.open311 import service_request
from cases.services.api_keys import authenticate
from cases.services.errors import InvalidInput, NotFound, PermissionDenied
from web.config import WebConfig
from web.open311_format import FORMATS, error, respond

SPEC = "http://wiki.open311.org/GeoReport_v2"


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "zh"


def _date(value: str | None, config: WebConfig, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be a w3c date-time such as 2026-11-01T00:00:00+08:00") from None
    return as_utc(parsed.replace(tzinfo=config.rules.zone) if parsed.tzinfo is None else parsed)


def _int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number") from None


def router(config: WebConfig) -> APIRouter:
    """The API's routes, bound to ``config``."""
    api = APIRouter(prefix="/open311/v2")
    rules = config.rules

    def guarded(fmt: str, body: Any) -> Response:
        if fmt not in FORMATS:
            return error("json", 404, f"format {fmt!r} is not offered; use json or xml")
        try:
            result: Response = body()
            return result
        except InvalidInput as exc:
            return error(fmt, 400, str(exc))
        except PermissionDenied as exc:
            return error(fmt, 403, str(exc))
        except NotFound as exc:
            return error(fmt, 404, str(exc))

    @api.get("/")
    @api.get("/discovery.{fmt}")
    def discovery(request: Request, fmt: str = "json") -> Response:
        base = str(request.base_url).rstrip("/") + "/open311/v2/"
        doc = {"changeset": "2026-11-01T00:00:00Z", "contact": rules.area_name(rules.root, _lang(request)),
               "key_service": "gridbot apikey create --name NAME [--area AREA] (ask the district's admin)",
               "endpoints": [{"specification": SPEC, "url": base, "changeset": "2026-11-01T00:00:00Z",
                              "type": "production", "formats": ["text/xml", "application/json"]}]}
        return guarded(fmt, lambda: respond(fmt, doc, root="discovery", item_tag="discovery"))

    @api.get("/services.{fmt}")
    def list_services(request: Request, fmt: str) -> Response:
        return guarded(fmt, lambda: respond(fmt, services(rules, _lang(request)), root="services",
                                            item_tag="service"))

    @api.get("/services/{code}.{fmt}")
    def get_service_definition(request: Request, code: str, fmt: str) -> Response:
        def body() -> Response:
            doc = service_definition(rules, code, _lang(request))
            if fmt == "xml":
                return respond(fmt, [doc], root="service_definitions", item_tag="service_definition")
            return respond(fmt, doc, root="service_definition", item_tag="service_definition")
        return guarded(fmt, body)

    @api.get("/requests.{fmt}")
    def list_requests(request: Request, fmt: str) -> Response:
        q = request.query_params

        def body() -> Response:
            query = RequestQuery(
                ids=parse_ids(q.get("service_request_id")),
                service_codes=tuple(c for c in (q.get("service_code") or "").split(",") if c),
                start=_date(q.get("start_date"), config, "start_date"),
                end=_date(q.get("end_date"), config, "end_date"),
                status=q.get("status") or None,
                page_size=_int(q.get("page_size"), "page_size") or MAX_RESULTS,
                after=_int(q.get("after"), "after"),
            )
            with read_scope(config.engine) as session:
                found = search(session, query, now=config.clock())
                items = [service_request(t, rules, lang=_lang(request)) for t in found]
            return respond(fmt, items, root="service_requests", item_tag="request")
        return guarded(fmt, body)

    @api.get("/requests/{ticket_id}.{fmt}")
    def get_request(request: Request, ticket_id: str, fmt: str) -> Response:
        def body() -> Response:
            number = _int(ticket_id, "service_request_id")
            assert number is not None
            with read_scope(config.engine) as session:
                item = service_request(one(session, number), rules, lang=_lang(request))
            return respond(fmt, [item], root="service_requests", item_tag="request")
        return guarded(fmt, body)

    @api.post("/requests.{fmt}")
    async def post_request(request: Request, fmt: str) -> Response:
        form = await request.form()
        data = {k: str(v) for k, v in form.items()}
        attributes = _attributes(form.multi_items())

        def body() -> Response:
            lat, lon = _float(data.get("lat"), "lat"), _float(data.get("long"), "long")
            with session_scope(config.engine) as session:
                key = authenticate(session, data.get("api_key"))
                if not data.get("service_code"):
                    raise InvalidInput("service_code is required")
                ticket = open_request(
                    session, rules=rules, key=key, service_code=data["service_code"],
                    description=data.get("description", ""), lat=lat, lon=lon,
                    address_string=data.get("address_string"), address_id=data.get("address_id") or None,
                    now=config.clock(), media_url=data.get("media_url"), attributes=attributes,
                )
                dispatch(session, config.ctx, ticket, now=config.clock())
                item = {"service_request_id": str(ticket.id), "service_notice": "", "account_id": None}
            return respond(fmt, [item], root="service_requests", item_tag="request")
        return guarded(fmt, body)

    return api


_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]*)\](\[\])?$")


def _attributes(items: Iterable[tuple[str, Any]]) -> dict[str, list[str]]:
    """The form's ``attribute[code]`` and ``attribute[code][]`` fields as code: its values, in order."""
    found: dict[str, list[str]] = {}
    for name, value in items:
        match = _ATTRIBUTE.match(name)
        if match is not None:
            found.setdefault(match.group(1), []).append(str(value))
    return found


def _float(value: str | None, name: str) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a number") from None

