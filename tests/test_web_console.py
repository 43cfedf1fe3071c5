"""The console over HTTP (no browser): login links, sessions, scope, CSRF, pages, downloads and actions
recorded as made through the console with the worker told through the outbox."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session, select
from test_tickets import World, open_one
from web_support import SECRET, client_for, world_in

from cases.models import OutboxMessage, Person, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.services.web_access import issue_login


@pytest.fixture
def world(engine: Engine, rules: Rules, now: datetime) -> World:
    return world_in(engine, rules, now)


@pytest.fixture
def client(engine: Engine, rules: Rules, now: datetime, world: World) -> Iterator[TestClient]:
    with client_for(engine, rules, now) as c:
        yield c


def _link(engine: Engine, person: Person, now: datetime) -> str:
    with Session(engine) as session:
        credential = issue_login(session, person=person, secret=SECRET, now=now)
        session.commit()
    return f"/login/{credential}"


def _redeem(client: TestClient, link: str, **kw: Any) -> Any:
    """Open the link (a page with a button), then press the button (the POST that logs in)."""
    page = client.get(link)
    assert page.status_code == 200 and 'id="login-button"' in page.text
    return client.post("/login", data={"credential": link.rsplit("/", 1)[1]}, **kw)


def _login(client: TestClient, engine: Engine, person: Person, now: datetime) -> None:
    response = _redeem(client, _link(engine, person, now), follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()


def _csrf(page: str) -> str:
    marker = 'name="csrf" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


def test_links_are_single_use_signed_and_expire(client: TestClient, engine: Engine, world: World,
                                                now: datetime, rules: Rules) -> None:
    link = _link(engine, world.supervisor, now)
    assert client.get("/console").status_code == 401
    assert client.get(link).status_code == 200 and client.get(link).status_code == 200  # a preview uses nothing
    assert _redeem(client, link).status_code == 200  # redirected into the console
    client.cookies.clear()
    reused = _redeem(client, link)
    assert reused.status_code == 403 and "/console" in reused.text
    forged = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert _redeem(client, forged).status_code == 403
    stale = _link(engine, world.supervisor, now - timedelta(minutes=11))
    assert _redeem(client, stale).status_code == 403
    assert client.get("/console").status_code == 401
    with Session(engine) as session, pytest.raises(Exception, match="staff"):
        issue_login(session, person=world.reporter, secret=SECRET, now=now)


def test_overview_drill_down_and_scope(client: TestClient, engine: Engine, world: World, now: datetime,
                                       rules: Rules) -> None:
    with Session(engine) as session:
        open_one(session, world, now - timedelta(days=2))
        session.commit()
    _login(client, engine, world.leader, now)
    page = client.get("/console")
    community = rules.ancestor_of_kind(world.grid, "community")
    assert page.status_code == 200 and rules.area_name(community or "", "zh") in page.text
    assert 'id="kpi-overdue"' in page.text and "按期结案率" in page.text and "<polygon" in page.text
    grid = client.get(f"/console?area={world.grid}&lang=en")
    assert grid.status_code == 200 and "Closed on time" in grid.text
    assert client.get(f"/console?area={rules.root}").status_code == 403  # above the leader's community
    assert client.get(f"/console?area={world.other_grid}").status_code == 403
    assert client.get("/console/tickets?area=" + world.other_grid).status_code == 403


def test_list_filters_and_downloads_match(client: TestClient, engine: Engine, world: World, now: datetime) -> None:
    with Session(engine) as session:
        for i in range(3):
            open_one(session, world, now - timedelta(hours=i), message_id=200 + i,
                     category="water" if i else "garbage")
        session.commit()
    _login(client, engine, world.supervisor, now)
    page = client.get("/console/tickets", params={"category": "water"})
    assert page.status_code == 200 and page.text.count('class="ticket-row"') == 2
    rows = list(csv.reader(io.StringIO(client.get("/console/tickets.csv", params={"category": "water"})
                                       .content.decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[0][0] == "编号"
    book = load_workbook(io.BytesIO(client.get("/console/tickets.xlsx", params={"category": "water"}).content))
    assert book.active is not None and book.active.max_row == 3
    assert client.get("/console/tickets", params={"sort": "sideways"}).status_code == 400


def test_reassign_through_the_console(client: TestClient, engine: Engine, world: World, now: datetime) -> None:
    with Session(engine) as session:
        ticket = open_one(session, world, now)
        session.commit()
        number = ticket.id
    _login(client, engine, world.leader, now)
    page = client.get(f"/console/tickets/{number}")
    assert page.status_code == 200 and 'id="form-reassign"' in page.text
    form = {"worker": str(world.worker2.id), "reason": "closer"}
    refused = client.post(f"/console/tickets/{number}/reassign", data=form)
    assert refused.status_code == 403  # no CSRF token
    done = client.post(f"/console/tickets/{number}/reassign", data={**form, "csrf": _csrf(page.text)})
    assert done.status_code == 200 and 'id="done"' in done.text and "（经工作台）" in done.text
    with Session(engine) as session:
        held = session.get(Ticket, number)
        assert held is not None and held.claimed_by == world.worker2.id
        event = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == number,
                                                       TicketEvent.kind == "reassign")).one()
        assert event.data["via"] == "console" and event.actor_id == world.leader.id
        told = session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == world.worker2.telegram_id,
                                                        OutboxMessage.ticket_id == number)).all()
        assert told


def test_inspector_reads_but_cannot_act(client: TestClient, engine: Engine, world: World, now: datetime) -> None:
    with Session(engine) as session:
        ticket = open_one(session, world, now)
        session.commit()
        number = ticket.id
    _login(client, engine, world.inspector, now)
    page = client.get(f"/console/tickets/{number}")
    assert page.status_code == 200 and 'action="/console/tickets' not in page.text
    csrf = client.get("/console")
    assert csrf.status_code == 200
    from web.security import read_session

    class _Req:
        cookies = client.cookies

    session_data = read_session(_Req(), SECRET)  # type: ignore[arg-type]
    assert session_data is not None
    refused = client.post(f"/console/tickets/{number}/cancel", data={"reason": "no", "csrf": session_data.csrf})
    assert refused.status_code == 403
    with Session(engine) as session:
        assert session.get(Ticket, number).status == "open"  # type: ignore[union-attr]


def test_times_on_the_overview_are_in_the_readers_language(client: TestClient, engine: Engine, world: World,
                                                            now: datetime) -> None:
    from cases.services import tickets as svc

    with Session(engine) as session:
        ticket = open_one(session, world, now - timedelta(days=2))
        assert ticket.id is not None
        svc.claim(session, ticket_id=ticket.id, worker=world.worker, rules=world.rules,
                  now=now - timedelta(days=2) + timedelta(hours=3, minutes=20))
        session.commit()
    _login(client, engine, world.leader, now)
    zh = _card(client.get("/console").text, "kpi-claim")
    en = _card(client.get("/console?lang=en").text, "kpi-claim")
    assert "3小时20分钟" in zh and not re.search(r"\d+\s*[dhm]\b", zh), zh
    assert "3h 20m" in en, en


def _card(page: str, card_id: str) -> str:
    start = page.index(f'id="{card_id}"')
    return page[start:page.index("</a>", start)]
