"""Grid, team and category ids that the rules file renamed or dropped, against what the database holds.

Stored rows name areas, teams and categories by id (``ticket.area``, ``ticket.target``, ``ticket.category``,
``role_assignment.scope``, ``group_binding.area``, ``person.home_area``). Renaming an id in the rules orphans
those rows: the tickets vanish from every ``/queue`` and the workers' scope names nothing. So the rules file
declares ``renamed_from: [old-id]`` on the area, team or category, and :func:`apply_renames` rewrites the
stored ids in one transaction, recording an ``ids_renamed`` event on every ticket it moved. :func:`orphans`
lists what the database still uses that the rules neither define nor rename (``gridbot rules check --db``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from cases.models import GroupBinding, Person, RoleAssignment, Ticket, TicketEvent
from cases.rules.schema import Rules

KINDS = ("area", "team", "category")
T = Ticket.__table__  # type: ignore[attr-defined]
R = RoleAssignment.__table__  # type: ignore[attr-defined]
G = GroupBinding.__table__  # type: ignore[attr-defined]
P = Person.__table__  # type: ignore[attr-defined]


def renames_of(rules: Rules) -> dict[str, dict[str, str]]:
    """``{kind: {old id: new id}}`` as the rules declare them."""
    found: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for kind, items in (("area", rules.areas), ("team", rules.teams), ("category", rules.categories)):
        for new, item in items.items():
            for old in getattr(item, "renamed_from", []):
                found[kind][old] = new
    return found


def rename_problems(rules: Rules) -> list[str]:
    """Renames that cannot be applied: a former id still defined, or claimed by two ids."""
    problems: list[str] = []
    for kind, items in (("area", rules.areas), ("team", rules.teams), ("category", rules.categories)):
        seen: dict[str, str] = {}
        for new, item in items.items():
            for old in getattr(item, "renamed_from", []):
                if old in items:
                    problems.append(f"{kind} {new!r}: renamed_from {old!r}, but {old!r} is still defined")
                elif old in seen:
                    problems.append(f"{kind} {old!r} is renamed to both {seen[old]!r} and {new!r}")
                seen[old] = new
    return problems


def _split_target(target: str) -> tuple[str, str] | None:
    kind, _, ref = target.partition(":")
    if not ref:
        return None
    return ("team", ref) if kind == "team" else ("area", ref)


def ids_in_use(session: Session) -> dict[tuple[str, str], Counter[str]]:
    """Every (kind, id) the database uses, with how many rows of each sort use it."""
    used: dict[tuple[str, str], Counter[str]] = {}

    def add(kind: str, ref: str | None, where: str, count: int) -> None:
        if ref:
            used.setdefault((kind, ref), Counter())[where] += count

    for ref, count in session.execute(select(T.c.area, func.count()).group_by(T.c.area)):
        add("area", ref, "tickets", count)
    for target, count in session.execute(select(T.c.target, func.count()).group_by(T.c.target)):
        split = _split_target(target or "")
        if split:
            add(split[0], split[1], "ticket targets", count)
    for ref, count in session.execute(select(T.c.category, func.count()).group_by(T.c.category)):
        add("category", ref, "tickets", count)
    for scope, count in session.execute(select(R.c.scope, func.count()).group_by(R.c.scope)):
        split = ("team", scope[5:]) if scope.startswith("team:") else ("area", scope)
        add(split[0], split[1], "staff roles", count)
    for ref, count in session.execute(select(G.c.area, func.count()).group_by(G.c.area)):
        add("area", ref, "group bindings", count)
    for ref, count in session.execute(select(P.c.home_area, func.count()).group_by(P.c.home_area)):
        add("area", ref, "residents' homes", count)
    return used


@dataclass(frozen=True)
class Orphan:
    """An id the database uses that the rules do not define; ``renamed_to`` when a rename will move it."""

    kind: str
    id: str
    uses: dict[str, int]
    renamed_to: str | None = None

    def describe(self) -> str:
        """One line for ``gridbot rules check``."""
        uses = ", ".join(f"{count} {where}" for where, count in sorted(self.uses.items()))
        if self.renamed_to:
            return f"{self.kind} {self.id!r} ({uses}) will be renamed to {self.renamed_to!r}"
        return (f"{self.kind} {self.id!r} is in use ({uses}) but the rules drop it; "
                f"declare renamed_from: [{self.id}] on its new {self.kind}, or move them first")


def orphans(session: Session, rules: Rules) -> list[Orphan]:
    """Ids in use that the rules do not define (sorted), each with the rename that covers it, if any."""
    defined: dict[str, set[str]] = {"area": set(rules.areas), "team": set(rules.teams),
                                     "category": set(rules.categories)}
    renames = renames_of(rules)
    return [Orphan(kind, ref, dict(uses), renames[kind].get(ref))
            for (kind, ref), uses in sorted(ids_in_use(session).items()) if ref not in defined[kind]]


@dataclass
class RenameReport:
    """What :func:`apply_renames` changed: rows per sort, and the tickets moved."""

    rows: Counter[str] = field(default_factory=Counter)
    tickets: set[int] = field(default_factory=set)

    def describe(self) -> str:
        """One line."""
        if not self.rows:
            return "no stored ids to rename"
        parts = ", ".join(f"{count} {where}" for where, count in sorted(self.rows.items()))
        return f"renamed ids in {parts} ({len(self.tickets)} tickets)"


def _tickets(session: Session, statement: Any) -> list[int]:
    return [row[0] for row in session.execute(statement.returning(T.c.id))]


def apply_renames(session: Session, rules: Rules, *, now: datetime) -> RenameReport:
    """Rewrite every stored former id to its new one (the caller commits); idempotent, a no-op once done."""
    report = RenameReport()
    moved: dict[int, list[list[str]]] = {}
    renames = renames_of(rules)
    for kind, pairs in renames.items():
        for old, new in pairs.items():
            changes: list[tuple[str, Any]] = []
            if kind == "area":
                changes.append(("area", update(T).where(T.c.area == old).values(area=new)))
                for prefix in ("grid:", "area:"):
                    changes.append(("target", update(T).where(T.c.target == prefix + old)
                                    .values(target=prefix + new)))
            elif kind == "team":
                changes.append(("target", update(T).where(T.c.target == f"team:{old}").values(target=f"team:{new}")))
            else:
                changes.append(("category", update(T).where(T.c.category == old).values(category=new)))
            for column, statement in changes:
                for ticket_id in _tickets(session, statement):
                    moved.setdefault(ticket_id, []).append([kind, column, old, new])
            scope_old, scope_new = (f"team:{old}", f"team:{new}") if kind == "team" else (old, new)
            if kind != "category":
                report.rows["staff roles"] += _move_roles(session, scope_old, scope_new)
            if kind == "area":
                report.rows["group bindings"] += _count(session, update(G).where(G.c.area == old).values(area=new))
                report.rows["residents' homes"] += _count(
                    session, update(P).where(P.c.home_area == old).values(home_area=new))
    for ticket_id, what in moved.items():
        session.add(TicketEvent(ticket_id=ticket_id, at=now, kind="ids_renamed", public=False,
                                data={"renamed": what}))
    if moved:
        report.rows["tickets"] += len(moved)
        report.tickets = set(moved)
    report.rows = Counter({k: v for k, v in report.rows.items() if v})
    session.flush()
    return report


def _move_roles(session: Session, old: str, new: str) -> int:
    """Role assignments over ``old`` now over ``new`` (one already held over ``new`` is kept once)."""
    rows = session.execute(select(R.c.id, R.c.person_id, R.c.role, R.c.scope).where(R.c.scope.in_((old, new))))
    rows_list = rows.all()
    held = {(r.person_id, r.role) for r in rows_list if r.scope == new}
    for row in rows_list:
        if row.scope != old:
            continue
        if (row.person_id, row.role) in held:
            session.execute(delete(R).where(R.c.id == row.id))
        else:
            session.execute(update(R).where(R.c.id == row.id).values(scope=new))
    return sum(1 for r in rows_list if r.scope == old)


def _count(session: Session, statement: Any) -> int:
    result = session.connection().execute(statement)
    return int(result.rowcount or 0)
