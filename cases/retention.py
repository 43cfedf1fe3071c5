"""Retention: what the bot stores only to receive and deliver is deleted once it has served.

Raw incoming updates (``inbox_update``) hold residents' names, phone numbers of shared contacts and
locations; outbox rows hold every message sent, digest charts included. Both are needed only until the
update is handled and the message delivered (and, for an outbox row, while its ticket may still edit
the message). Tickets and their history are the record and are never pruned here.

After ``keep`` this deletes:

* inbox updates processed (or given up) before the cutoff; pending ones are never touched;
* outbox rows sent, or failed for good, before the cutoff, unless their ticket is still going (draft,
  open, claimed, resolved), since later edits ("claimed by ...") refer to the messages already sent.

It works in batches, one short write transaction each, so the bot keeps answering meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, delete, exists, select
from sqlmodel import Session

from cases.clock import as_utc
from cases.db import count_rows, read_scope, rowcount, session_scope
from cases.models import InboxUpdate, OutboxMessage, Status, Ticket

INBOX = InboxUpdate.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
T = Ticket.__table__  # type: ignore[attr-defined]

DEFAULT_KEEP_DAYS = 90
BATCH = 1000
"""Rows deleted per write transaction."""
FINISHED: tuple[str, ...] = (Status.CLOSED, Status.CANCELLED, Status.MERGED)


@dataclass
class Pruned:
    """How many rows were (or, counted, would be) deleted."""

    inbox: int = 0
    outbox: int = 0


def _old_inbox(cutoff: datetime) -> ColumnElement[bool]:
    return and_(INBOX.c.processed_at.is_not(None), INBOX.c.processed_at < cutoff)


def _old_outbox(cutoff: datetime) -> list[ColumnElement[bool]]:
    """Sent before the cutoff, or failed for good before it (two conditions, each served by the index)."""
    return [and_(OUTBOX.c.sent_at.is_not(None), OUTBOX.c.sent_at < cutoff),
            and_(OUTBOX.c.sent_at.is_(None), OUTBOX.c.failed_at.is_not(None), OUTBOX.c.failed_at < cutoff)]


def _ticket_going() -> ColumnElement[bool]:
    return exists().where(T.c.id == OUTBOX.c.ticket_id, T.c.status.not_in(FINISHED))


def prune_batch(session: Session, *, cutoff: datetime, batch: int = BATCH) -> Pruned:
    """Delete at most ``batch`` inbox updates and ``batch`` outbox rows per kind older than ``cutoff``."""
    pruned = Pruned()
    inbox_ids = select(INBOX.c.update_id).where(_old_inbox(cutoff)).limit(batch)
    pruned.inbox = rowcount(session.execute(delete(INBOX).where(INBOX.c.update_id.in_(inbox_ids))))
    for finished in _old_outbox(cutoff):
        outbox_ids = select(OUTBOX.c.id).where(finished, ~_ticket_going()).limit(batch)
        pruned.outbox += rowcount(session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(outbox_ids))))
    return pruned


def prune(engine: Engine, *, now: datetime, keep: timedelta, batch: int = BATCH,
          max_batches: int | None = None) -> Pruned:
    """Delete everything older than ``now - keep`` (see the module docstring), a batch per transaction;
    with ``max_batches``, stop after that many and leave the rest for the next call."""
    cutoff = as_utc(now) - keep
    total = Pruned()
    done = 0
    while max_batches is None or done < max_batches:
        with session_scope(engine) as session:
            pruned = prune_batch(session, cutoff=cutoff, batch=batch)
        done += 1
        total.inbox += pruned.inbox
        total.outbox += pruned.outbox
        if pruned.inbox < batch and pruned.outbox < batch:
            break
    return total


def count_prunable(engine: Engine, *, now: datetime, keep: timedelta) -> Pruned:
    """How many rows :func:`prune` would delete now (only reads)."""
    cutoff = as_utc(now) - keep
    with read_scope(engine) as session:
        inbox = count_rows(session, INBOX, _old_inbox(cutoff))
        outbox = sum(count_rows(session, OUTBOX, finished, ~_ticket_going()) for finished in _old_outbox(cutoff))
    return Pruned(inbox=inbox, outbox=outbox)
