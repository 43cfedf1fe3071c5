"""Inline buttons pressed by users: the callback queries sent to the bot and whether it answered them."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from emulator.errors import JSON, bad_request
from emulator.records import StoredMessage
from emulator.updates import UpdateQueue
from emulator.world import UserRef

MessageRef = int | StoredMessage


@dataclass
class CallbackRecord:
    """A callback query the emulator sent and whether the bot answered it."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    mono: float
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False

    def to_dict(self) -> JSON:
        """A JSON-friendly view."""
        return asdict(self)


class CallbackQueries(UpdateQueue):
    """Presses become ``callback_query`` updates; answerCallbackQuery marks them answered once."""

    def _init_callbacks(self) -> None:
        self.callbacks: dict[str, CallbackRecord] = {}
        self._next_callback = 0

    def press(
        self,
        user: UserRef,
        message: MessageRef,
        callback_data: str,
        chat: int | None = None,
        *,
        forge: bool = False,
    ) -> str:
        """The user presses an inline button; returns the callback query id the bot must answer.

        The button must be on the message's current keyboard unless ``forge`` is true.
        """
        with self._lock:
            u = self._user(user)
            if isinstance(message, StoredMessage):
                msg: StoredMessage | None = message
                chat_id = message.chat_id
            else:
                chat_id = self._chat_for(u, chat).id
                msg = self._messages.get(chat_id, {}).get(message)
            if msg is None or msg.deleted:
                raise ValueError(f"no message {message!r} in chat {chat_id}")
            if not forge and callback_data not in {b.callback_data for b in msg.buttons()}:
                raise ValueError(f"message {msg.message_id} has no button with data {callback_data!r}")
            self._next_callback += 1
            qid = str(4_200_000_000_000_000 + self._next_callback * 7919)
            self.callbacks[qid] = CallbackRecord(
                qid, u.id, chat_id, msg.message_id, callback_data, time.monotonic()
            )
            query = {
                "id": qid,
                "from": u.to_api(),
                "message": self.message_to_api(msg),
                "chat_instance": str(abs(hash((self.bot_id, chat_id))) % 10**18),
                "data": callback_data,
            }
        self._push_update("callback_query", query)
        return qid

    def click(self, user: UserRef, chat_id: int, button_text: str, *, within: str | None = None) -> str:
        """Find the newest button labelled ``button_text`` in ``chat_id`` and press it.

        ``within`` narrows the search to messages whose text or caption contains it.
        """
        button = self.find_button(chat_id, button_text, within=within)
        if button is None or button.callback_data is None:
            raise ValueError(f"no callback button {button_text!r} in chat {chat_id}")
        return self.press(user, button.message_id, button.callback_data, chat=chat_id)

    def unanswered_callbacks(self) -> list[CallbackRecord]:
        """Callback queries the bot has not answered."""
        with self._lock:
            return [c for c in self.callbacks.values() if not c.answered]

    def _api_answercallbackquery(self, params: JSON, files: Any) -> bool:
        record = self.callbacks.get(str(params.get("callback_query_id") or ""))
        if record is None or record.answered:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.answer_text = None if text is None else str(text)
        record.show_alert = params.get("show_alert") in (True, "true", "True", 1, "1")
        return True
