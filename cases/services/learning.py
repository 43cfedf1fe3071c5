"""Labelled examples learned from the district: every staff recategorisation and every resident's pick from
the "which category?" buttons is kept (who, when, which ticket) for ``gridbot routing retrain``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from cases.models import Person, RoutingExample, Ticket
from cases.routing.examples import Example

__all__ = ["local_examples", "record_example"]


def record_example(session: Session, ticket: Ticket, *, category: str, emergency: bool, actor: Person | None,
                   now: datetime) -> RoutingExample | None:
    """Keep ``ticket``'s text labelled ``category``; the source is ``resident`` when the reporter chose it,
    ``staff`` otherwise. Nothing is kept for a ticket without text (a voice note)."""
    text = " ".join((ticket.text or "").split())
    if not text:
        return None
    source = "resident" if actor is not None and actor.id == ticket.reporter_id else "staff"
    example = RoutingExample(text=text, category=category, emergency=emergency, source=source,
                             actor_id=actor.id if actor else None, ticket_id=ticket.id, created_at=now)
    session.add(example)
    return example


def local_examples(session: Session, categories: list[str] | None = None) -> list[Example]:
    """The learned examples, the latest label of each ticket only, oldest first; unknown categories skipped."""
    rows = session.exec(select(RoutingExample).order_by(col(RoutingExample.id))).all()
    latest: dict[object, RoutingExample] = {}
    for row in rows:
        latest[row.ticket_id if row.ticket_id is not None else ("row", row.id)] = row
    known = set(categories) if categories is not None else None
    return [Example(r.category, r.emergency, r.text, f"local:{r.id}:{r.source}")
            for r in sorted(latest.values(), key=lambda r: r.id or 0)
            if known is None or r.category in known]
