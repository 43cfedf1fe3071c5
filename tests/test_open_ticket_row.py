"""The ticket ``open_ticket`` returns is exactly the stored row, attached to the session as if just loaded:
nothing pending, nothing expired, and a later change to it is written."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from cases.models import Ticket
from cases.rules.schema import Rules
from cases.services import tickets as svc
from cases.services.events import latest_event_id
from tests.test_tickets import make_world, open_one

_TABLE = Ticket.__table__  # type: ignore[attr-defined]


def _stored(engine: Engine, ticket_id: int) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(select(_TABLE).where(_TABLE.c.id == ticket_id)).mappings().one()
    return dict(row)


def test_opened_ticket_is_the_stored_row_and_clean(engine: Engine, session: Session, rules: Rules,
                                                   now: datetime) -> None:
    world = make_world(session, rules, now)
    for message_id, target, held in ((1, "", False), (2, None, False), (3, "", True)):
        ticket = open_one(session, world, now, message_id, target=target, held=held)
        state = inspect(ticket)
        assert state.persistent and not state.modified and not state.expired_attributes
        assert ticket in session and not session.dirty and not session.new
        session.commit()
        assert ticket.id is not None
        stored = _stored(engine, ticket.id)
        mine = {name: getattr(ticket, name) for name in stored}
        # SQLite hands datetimes back naive: compare instants
        assert {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in mine.items()} == \
            {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in stored.items()}
        assert mine["status"] == ("draft" if target is None else "open") and mine["held"] is held
    ticket.text, ticket.updated_at = "changed", now + timedelta(minutes=1)
    session.commit()
    assert ticket.id is not None and _stored(engine, ticket.id)["text"] == "changed"


def test_open_report_names_the_event_it_recorded(session: Session, rules: Rules, now: datetime) -> None:
    """The event id it returns is the ticket's newest event (what the dispatch cards are keyed by)."""
    world = make_world(session, rules, now)
    kwargs = dict(rules=rules, reporter=world.reporter, chat_id=world.reporter.telegram_id, message_id=7,
                  text="水管爆了", category="water", priority="urgent", area=world.grid, target=f"grid:{world.grid}",
                  route_index=1, explanation={}, now=now)
    opened = svc.open_report(session, **kwargs)  # type: ignore[arg-type]
    assert opened.created and opened.ticket.id is not None
    assert opened.event_id == latest_event_id(session, opened.ticket.id) > 0
    again = svc.open_report(session, **kwargs)  # type: ignore[arg-type]
    assert not again.created and again.event_id is None and again.ticket.id == opened.ticket.id
