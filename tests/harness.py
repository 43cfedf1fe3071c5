"""End-to-end harness: the real bot (runtime, handlers, outbox) over real HTTP against the Bot API emulator."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app import App, build_app
from cases.clock import Clock, utcnow
from cases.db import session_scope
from cases.models import OutboxMessage, Person, Ticket, TicketEvent
from cases.rules.schema import Rules
from cases.services.people import get_or_create_person, grant_role
from cases.settings import Settings
from emulator import BotApiEmulator, StoredMessage

ROOT = Path(__file__).resolve().parent.parent


def clock_at(hour: int, minute: int, zone: str) -> Clock:
    """A real-time clock shifted to start at ``hour:minute`` local time today in ``zone``.

    For end-to-end tests whose outcome depends on the time of day (the daily digest is only due after
    ``digest.at``): they then run the same whenever CI runs them, while seconds still pass for real.
    """
    local = utcnow().astimezone(ZoneInfo(zone))
    offset = local.replace(hour=hour, minute=minute, second=0, microsecond=0) - local
    return lambda: utcnow() + offset
TOKEN = "424242:E2E-test-token"
WAIT = 20.0


def default_clock() -> Clock:
    """The real clock, or with ``GRIDBOT_TEST_LOCAL_TIME=HH:MM`` one shifted to that time of day in Shanghai
    (to check that a run at night and a run by day behave alike)."""
    wanted = os.environ.get("GRIDBOT_TEST_LOCAL_TIME")
    if not wanted:
        return utcnow
    hour, minute = (int(part) for part in wanted.split(":"))
    return clock_at(hour, minute, "Asia/Shanghai")


class BotHarness:
    """``async with BotHarness(tmp_path) as h:`` starts the emulator and the bot; helpers drive both."""

    def __init__(self, tmp_path: Path, *, database_url: str | None = None, rules: Rules | None = None,
                 rules_path: Path | None = None, private_per_second: float = 50.0, sweep_seconds: float = 3600,
                 clock: Clock | None = None, strict_rate_limits: bool = False) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url or f"sqlite:///{tmp_path / 'e2e.db'}"
        self.rules = rules
        self.rules_path = rules_path or ROOT / "routing_rules.yaml"
        self.private_per_second = private_per_second
        self.sweep_seconds = sweep_seconds
        self.clock = clock or default_clock()
        self.emu = BotApiEmulator(token=TOKEN, strict_rate_limits=strict_rate_limits)
        self.app: App | None = None

    async def __aenter__(self) -> BotHarness:
        await self.emu.start()
        settings = Settings(token=TOKEN, api_base_url=self.emu.base_url, database_url=self.database_url,
                            rules=str(self.rules_path), sweep_seconds=self.sweep_seconds,
                            outbox_private_per_second=self.private_per_second)
        self.app = build_app(settings, rules=self.rules, clock=self.clock,
                             runtime_options={"processor_options": {"poll_interval": 0.2, "retry_base": 0.2},
                                              "sender_options": {"poll_interval": 0.1, "backoff_base": 0.2,
                                                                 "backoff_cap": 2.0}})
        self.rules = self.app.rules
        await self.app.runtime.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self.app is not None:
                await self.app.runtime.stop()
                self.app.engine.dispose()
        finally:
            await self.emu.stop()

    # ---- people
    def resident(self, user_id: int, name: str, lang: str = "zh-hans") -> int:
        """A resident who has not talked to the bot yet."""
        self.emu.add_user(user_id, name, language_code=lang)
        return user_id

    def staff(self, user_id: int, name: str, role: str, scope: str, lang: str = "zh") -> int:
        """A staff member with a role, registered directly in the database (as an accepted invite would)."""
        self.emu.add_user(user_id, name, language_code=lang, started=True)
        assert self.app is not None
        with session_scope(self.app.engine) as session:
            person = get_or_create_person(session, telegram_id=user_id, name=name, language=lang[:2], now=utcnow())
            grant_role(session, person=person, role=role, scope=scope, rules=self.app.rules, now=utcnow())
        return user_id

    # ---- waiting
    async def wait(self, predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
        """Wait until ``predicate()`` is truthy."""
        return await self.emu.wait_for(predicate, timeout=timeout)

    def bot_messages(self, chat_id: int) -> list[StoredMessage]:
        """The bot's messages in a chat (current state, after edits)."""
        return [m for m in self.emu.messages_to(chat_id) if m.from_bot]

    def texts(self, chat_id: int) -> list[str]:
        """Texts of the bot's messages in a chat."""
        return [m.text or m.caption or "" for m in self.bot_messages(chat_id)]

    async def expect(self, chat_id: int, fragment: str, timeout: float = WAIT) -> StoredMessage:
        """Wait for a bot message containing ``fragment`` in ``chat_id``."""
        def found() -> StoredMessage | None:
            for message in self.bot_messages(chat_id):
                if fragment in (message.text or message.caption or ""):
                    return message
            return None

        try:
            result: StoredMessage = await self.wait(found, timeout)
        except TimeoutError:
            raise AssertionError(f"no message with {fragment!r} in chat {chat_id}; got {self.texts(chat_id)}") from None
        return result

    async def answered(self, query_id: str, timeout: float = WAIT) -> str:
        """Wait until the bot answered a button press; returns the answer text ('' if none)."""
        await self.wait(lambda: self.emu.callbacks[query_id].answered, timeout)
        return self.emu.callbacks[query_id].answer_text or ""

    async def click(self, user_id: int, chat_id: int, label: str, timeout: float = WAIT,
                    *, within: str | None = None) -> str:
        """Wait for a button labelled ``label`` in ``chat_id``, press it, and return the bot's answer.

        ``within`` picks the newest such button on a message containing that text.
        """
        try:
            await self.wait(lambda: self.emu.find_button(chat_id, label, within=within), timeout)
        except TimeoutError:
            raise AssertionError(f"no button {label!r} in chat {chat_id}; got {self.texts(chat_id)}") from None
        return await self.answered(self.emu.click(user_id, chat_id, label, within=within), timeout)

    async def settle(self, seconds: float = 0.5) -> None:
        """Wait until the outbox is empty, then a little longer."""
        await self.wait(lambda: self.pending_outbox() == 0)
        await asyncio.sleep(seconds)

    # ---- database views
    def pending_outbox(self) -> int:
        """Outbox rows not yet sent nor failed."""
        assert self.app is not None
        with session_scope(self.app.engine) as session:
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.sent_at == None,  # noqa: E711
                                                            OutboxMessage.failed_at == None)).all()  # noqa: E711
            return len(rows)

    def tickets(self) -> list[Ticket]:
        """Every ticket, in number order."""
        assert self.app is not None
        with session_scope(self.app.engine) as session:
            return list(session.exec(select(Ticket).order_by(Ticket.id)).all())  # type: ignore[arg-type]

    def ticket(self, number: int) -> Ticket:
        """One ticket."""
        assert self.app is not None
        with session_scope(self.app.engine) as session:
            ticket = session.get(Ticket, number)
            assert ticket is not None
            return ticket

    def events(self, number: int) -> list[TicketEvent]:
        """A ticket's history."""
        assert self.app is not None
        with session_scope(self.app.engine) as session:
            return list(session.exec(select(TicketEvent).where(TicketEvent.ticket_id == number)
                                     .order_by(TicketEvent.id)).all())  # type: ignore[arg-type]

    def person(self, telegram_id: int) -> Person | None:
        """A person by Telegram id."""
        assert self.app is not None
        with session_scope(self.app.engine) as session:
            return session.exec(select(Person).where(Person.telegram_id == telegram_id)).first()

    def now(self) -> datetime:
        """The bot's clock."""
        return self.clock()
