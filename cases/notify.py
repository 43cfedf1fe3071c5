"""How the domain asks for people to be told something, without knowing about Telegram.

The bot implements :class:`Notifier` by rendering a notice into outbox rows in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from cases.models import Person


@dataclass(frozen=True)
class Notice:
    """Something to tell people: ``kind`` picks the message template; ``data`` fills it in."""

    kind: str
    ticket_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Notifier(Protocol):
    """Queues notices for delivery inside the caller's transaction."""

    def notify(self, session: Session, recipients: Sequence[Person], notice: Notice, *, now: datetime) -> None:
        """Queue ``notice`` for every recipient."""


class RecordingNotifier:
    """A notifier that only remembers what it was asked to send (tests, dry runs)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, Notice]] = []

    def notify(self, session: Session, recipients: Sequence[Person], notice: Notice, *, now: datetime) -> None:
        """Remember ``(person id, notice)`` for every recipient."""
        for person in recipients:
            assert person.id is not None
            self.sent.append((person.id, notice))

    def kinds(self) -> list[str]:
        """The kinds of every recorded notice, in order."""
        return [notice.kind for _, notice in self.sent]
