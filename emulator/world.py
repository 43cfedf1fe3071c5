"""The emulator's world: the bot's identity, users, chats and every message in them, and the record of
what the bot did (transcript of chat changes, log of every call).

One re-entrant lock guards all state, here and in the mixins that extend :class:`World`, so tests may
drive an emulator whose server runs in another thread or event loop. Every change notifies ``signal``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from emulator.changes import Signal
from emulator.errors import JSON
from emulator.formatting import inline_only
from emulator.records import ApiCall, Button, EmuChat, EmuUser, StoredMessage, TranscriptEntry

T = TypeVar("T")
DEFAULT_TOKEN = "123456789:TEST-emulator-token"

UserRef = int | EmuUser


class World:
    """Users, chats and messages with their queries; the base every part of the emulator extends."""

    def __init__(
        self, token: str = DEFAULT_TOKEN, *, bot_username: str = "gridbot_emu_bot", bot_name: str = "Gridbot"
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.signal = Signal()
        self._lock = threading.RLock()
        self.users: dict[int, EmuUser] = {}
        self.chats: dict[int, EmuChat] = {}
        self._messages: dict[int, dict[int, StoredMessage]] = {}
        self.transcript: list[TranscriptEntry] = []
        self.calls: list[ApiCall] = []

    # ----------------------------------------------------------------- users and chats
    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        language_code: str = "en",
        username: str | None = None,
        last_name: str | None = None,
        started: bool = False,
    ) -> EmuUser:
        """Create (or return) a user and their private chat; ``started`` lets the bot write first."""
        with self._lock:
            user = self.users.get(user_id)
            if user is None:
                user = EmuUser(user_id, first_name or f"User{user_id}", language_code, username, last_name)
                self.users[user_id] = user
                self.chats[user_id] = EmuChat(user_id, "private", user=user)
                self._messages[user_id] = {}
            user.started = user.started or started
            return user

    def add_group(self, chat_id: int, title: str | None = None, *, supergroup: bool = False) -> EmuChat:
        """Create (or return) a group chat the bot is a member of; ids must be negative."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            chat = self.chats.get(chat_id)
            if chat is None:
                chat = EmuChat(chat_id, "supergroup" if supergroup else "group", title or f"Group {-chat_id}")
                self.chats[chat_id] = chat
                self._messages[chat_id] = {}
            return chat

    def block_user(self, user_id: int) -> None:
        """The user blocks the bot: sends to them answer 403."""
        with self._lock:
            self.add_user(user_id).blocked = True

    def unblock_user(self, user_id: int) -> None:
        """The user unblocks the bot."""
        with self._lock:
            self.add_user(user_id).blocked = False

    def _user(self, ref: UserRef) -> EmuUser:
        return ref if isinstance(ref, EmuUser) else self.add_user(ref)

    def _chat_for(self, user: EmuUser, chat: int | None) -> EmuChat:
        if chat is None or chat == user.id:
            return self.chats[user.id]
        return self.chats[chat] if chat in self.chats else self.add_group(chat)

    # ----------------------------------------------------------------- messages
    def _new_message(self, chat: EmuChat, *, from_bot: bool, user_id: int | None = None) -> StoredMessage:
        msg = StoredMessage(chat.id, chat.next_message_id, int(time.time()), from_bot, user_id)
        chat.next_message_id += 1
        self._messages[chat.id][msg.message_id] = msg
        return msg

    def bot_user(self) -> JSON:
        """The bot's ``User`` object (getMe)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def message_to_api(self, msg: StoredMessage) -> JSON:
        """The ``Message`` object Telegram would return or deliver for ``msg``."""
        with self._lock:
            chat = self.chats[msg.chat_id]
            d: JSON = {"message_id": msg.message_id, "date": msg.date, "chat": chat.to_api()}
            if msg.from_bot:
                d["from"] = self.bot_user()
            elif msg.user_id is not None:
                d["from"] = self.users[msg.user_id].to_api()
            if msg.edit_date is not None:
                d["edit_date"] = msg.edit_date
            if msg.text is not None:
                d["text"] = msg.text
            if msg.caption is not None:
                d["caption"] = msg.caption
            if msg.entities:
                d["entities"] = msg.entities
            d.update(msg.media)
            markup = inline_only(msg.reply_markup)
            if markup:
                d["reply_markup"] = markup
            return d

    def messages_to(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """The bot's messages in a chat, oldest first, in their current (edited) state."""
        with self._lock:
            return [
                m
                for m in self._messages.get(chat_id, {}).values()
                if m.from_bot and (include_deleted or not m.deleted)
            ]

    def all_messages(self, chat_id: int) -> list[StoredMessage]:
        """Every message in a chat (user's and bot's), oldest first."""
        with self._lock:
            return list(self._messages.get(chat_id, {}).values())

    def get_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        """One message by id."""
        with self._lock:
            return self._messages.get(chat_id, {}).get(message_id)

    def last_message(self, chat_id: int) -> StoredMessage | None:
        """The bot's newest undeleted message in a chat."""
        msgs = self.messages_to(chat_id)
        return msgs[-1] if msgs else None

    def find_button(self, chat_id: int, text: str, *, within: str | None = None) -> Button | None:
        """The newest inline button whose label equals ``text`` (or else contains it).

        ``within`` narrows the search to messages whose text or caption contains it.
        """
        msgs = [m for m in reversed(self.messages_to(chat_id))
                if within is None or within in (m.text or m.caption or "")]
        for exact in (True, False):
            for m in msgs:
                for b in m.buttons():
                    if (b.text == text) if exact else (text in b.text):
                        return b
        return None

    # ----------------------------------------------------------------- what the bot did
    def transcript_for(self, chat_id: int) -> list[TranscriptEntry]:
        """Transcript entries of one chat."""
        with self._lock:
            return [e for e in self.transcript if e.chat_id == chat_id]

    def record_call(self, method: str, params: JSON, status: int, description: str | None = None, *,
                    content_type: str = "") -> None:
        """Log one answered request."""
        with self._lock:
            self.calls.append(ApiCall(time.time(), method, params, status, description, content_type))
        self.signal.notify()

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded requests of one method (case-insensitive)."""
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    # ----------------------------------------------------------------- waiting
    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy and return its value; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            result, version, pause = self._look(predicate, deadline, timeout)
            if result:
                return result
            await self.signal.wait(version, pause)

    def wait_for_sync(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Blocking :meth:`wait_for` for threads and sync tests."""
        deadline = time.monotonic() + timeout
        while True:
            result, version, pause = self._look(predicate, deadline, timeout)
            if result:
                return result
            self.signal.wait_sync(version, pause)

    def _look(self, predicate: Callable[[], T], deadline: float, timeout: float) -> tuple[T, int, float]:
        """One look for the waits: ``predicate()``, the change version it saw, and how long to wait for the
        next change (at most 0.5 s); TimeoutError once ``deadline`` passed with ``predicate()`` still falsy."""
        version = self.signal.version
        result = predicate()
        remaining = deadline - time.monotonic()
        if not result and remaining <= 0:
            raise TimeoutError(f"condition not met within {timeout}s")
        return result, version, min(remaining, 0.5)
