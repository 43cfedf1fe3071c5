"""When each periodic job last ran and how it ended, so ``gridbot status`` can tell a sweep that stopped
running or keeps failing (the bot's log says why; this says that). Callers commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from cases.clock import as_utc
from cases.db import insert_if_new, insert_ignoring
from cases.models import JobRun

_JOBS = JobRun.__table__  # type: ignore[attr-defined]
_FIRST_RUN = insert_ignoring(_JOBS, conflict=["name"], returning=_JOBS.c.name)
ERROR_CHARS = 500


def started(session: Session, *, name: str, interval: float, holder: str, now: datetime) -> None:
    """Job ``name`` (run every ``interval`` seconds by ``holder``) starts now."""
    now = as_utc(now)
    values = {"name": name, "interval_seconds": interval, "holder": holder, "last_started_at": now,
              "runs": 1, "failures": 0}
    if not insert_if_new(session, _FIRST_RUN, _JOBS, values):
        session.execute(update(_JOBS).where(_JOBS.c.name == name).values(
            interval_seconds=interval, holder=holder, last_started_at=now, runs=_JOBS.c.runs + 1))


def finished(session: Session, *, name: str, now: datetime, error: str | None = None) -> None:
    """Job ``name`` ended now: well, or with ``error`` (kept shortened)."""
    now = as_utc(now)
    values: dict[str, Any]
    if error is None:
        values = {"last_finished_at": now, "last_ok_at": now, "last_error": None}
    else:
        values = {"last_finished_at": now, "last_error": error[:ERROR_CHARS], "failures": _JOBS.c.failures + 1}
    session.execute(update(_JOBS).where(_JOBS.c.name == name).values(**values))
