"""Ticket actions. Each checks permission and the transition table, changes the ticket and appends
events in the caller's transaction (the caller's ``session_scope`` commits). No clock reads: ``now``.

A ticket row is read ``FOR UPDATE`` before it changes (PostgreSQL row lock; on SQLite every write
transaction already holds the database lock), so concurrent actions on one ticket serialize. Claiming
is a single conditional ``UPDATE ... WHERE status = 'open' RETURNING`` so exactly one claimer wins.

The parts: :mod:`.reading` (lookups and lists), :mod:`.recording` (the kernel every action uses: locked
read, events, authorisation, checked transition), :mod:`.intake`, :mod:`.handling`, :mod:`.closing` and
:mod:`.corrections`.
"""

from cases.services.tickets.closing import auto_close, cancel, confirm, merge, rate, reopen, verify
from cases.services.tickets.corrections import amend_text, recategorize
from cases.services.tickets.handling import ClaimResult, add_note, claim, reassign, release, resolve, transfer
from cases.services.tickets.intake import Opened, locate, open_report, open_ticket, release_hold
from cases.services.tickets.reading import DUPLICATE_WINDOW as DUPLICATE_WINDOW
from cases.services.tickets.reading import Earlier, find_by_message, get, history, list_tickets, possible_duplicate
from cases.services.tickets.reading import in_area as in_area

__all__ = [
    "ClaimResult",
    "Earlier",
    "Opened",
    "add_note",
    "amend_text",
    "auto_close",
    "cancel",
    "claim",
    "confirm",
    "find_by_message",
    "get",
    "history",
    "list_tickets",
    "locate",
    "merge",
    "open_report",
    "open_ticket",
    "possible_duplicate",
    "rate",
    "reassign",
    "recategorize",
    "release",
    "release_hold",
    "reopen",
    "resolve",
    "transfer",
    "verify",
]
