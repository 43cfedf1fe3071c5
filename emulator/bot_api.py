"""The Bot API methods the bot calls: send, edit and delete messages, chat actions, commands, getMe and
getChat, each checked like Telegram checks it (chat exists, bot may write there, text and markup valid).

``call`` dispatches ``<method>`` to the ``_api_<method>`` handler of whichever part of the emulator owns
it (webhook, files and callback answers live with their state).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from emulator.errors import JSON, ApiError, as_int, bad_request
from emulator.files import FileStore
from emulator.formatting import caption_text, inline_only, markup_key, message_text, validate_markup
from emulator.rates import SendLog
from emulator.records import EmuChat, StoredMessage, TranscriptEntry

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_NOOP_METHODS = frozenset(
    {"setmydescription", "setmyshortdescription", "setmyname", "setchatmenubutton", "close", "logout"}
)


def _location(params: JSON) -> JSON:
    try:
        return {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
    except (KeyError, TypeError, ValueError):
        raise bad_request("wrong latitude or longitude specified") from None


class BotApiMethods(SendLog, FileStore):
    """Handlers of the Bot API methods that change chats, plus the bot's commands and chat actions."""

    def _init_bot_api(self) -> None:
        self.commands: dict[str, list[JSON]] = {}
        self.chat_actions: list[tuple[int, str]] = []

    def call(self, method: str, params: JSON, files: dict[str, tuple[str, bytes]] | None = None) -> Any:
        """Run one Bot API method (not getUpdates) and return its result; raises ApiError."""
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            if method.lower() in _NOOP_METHODS:
                return True
            raise ApiError(404, f"Not Found: the emulator does not implement {method}")
        with self._lock:
            result = handler(params, files or {})
        self.signal.notify()
        return result

    def _target_chat(self, params: JSON, *, sending: bool) -> EmuChat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            raise bad_request("chat not found")
        chat = self.chats.get(as_int(raw, "chat_id"))
        if chat is None:
            raise bad_request("chat not found")
        if chat.user is not None:
            if chat.user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if sending and not chat.user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif not chat.bot_member:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    def _deliver(self, method: str, chat: EmuChat, params: JSON, **content: Any) -> JSON:
        """Store a bot message, record transcript, rate and duplicate observations."""
        self._check_rate(chat.id)
        markup = content.pop("reply_markup", None)
        photo_size = content.pop("photo_size", None)
        msg = self._new_message(chat, from_bot=True)
        msg.text = content.pop("text", None)
        msg.raw_text = content.pop("raw_text", None)
        msg.caption = content.pop("caption", None)
        msg.parse_mode = params.get("parse_mode")
        msg.reply_markup = markup
        msg.media = content
        now = self._record_send(chat.id, method, msg.text or msg.caption or "", markup)
        self._transcribe(method, msg, now, photo_size)
        return self.message_to_api(msg)

    def _transcribe(self, method: str, msg: StoredMessage, mono: float, photo_size: int | None = None) -> None:
        """Add ``msg`` as ``method`` left it to the transcript."""
        self.transcript.append(
            TranscriptEntry(
                time.time(),
                mono,
                method,
                msg.chat_id,
                msg.message_id,
                msg.text,
                msg.caption,
                msg.reply_markup,
                msg.parse_mode,
                photo_size,
            )
        )

    def _api_getme(self, params: JSON, files: Any) -> JSON:
        return self.bot_user()

    def _api_getchat(self, params: JSON, files: Any) -> JSON:
        chat = self._target_chat(params, sending=False)
        d = chat.to_api()
        d.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        if chat.user is not None and chat.user.last_name:
            d["last_name"] = chat.user.last_name
        return d

    # ----------------------------------------------------------------- sending
    def _api_sendmessage(self, params: JSON, files: Any) -> JSON:
        chat = self._target_chat(params, sending=True)
        raw = str(params.get("text") or "")
        text = message_text(raw, params.get("parse_mode"), "message is too long")
        markup = validate_markup(params.get("reply_markup"))
        return self._deliver("sendMessage", chat, params, text=text, raw_text=raw, reply_markup=markup)

    def _api_sendphoto(self, params: JSON, files: dict[str, tuple[str, bytes]]) -> JSON:
        chat = self._target_chat(params, sending=True)
        caption = caption_text(params)
        markup = validate_markup(params.get("reply_markup"))
        photo = params.get("photo")
        if "photo" in files:
            data = files["photo"][1]
        elif isinstance(photo, str) and photo.startswith("attach://") and photo[9:] in files:
            data = files[photo[9:]][1]
        elif isinstance(photo, str) and photo in self.files:
            data = self.files[photo].data
        elif isinstance(photo, str) and photo.startswith(("http://", "https://")):
            data = photo.encode()
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if not data:
            raise bad_request("file must be non-empty")
        return self._deliver(
            "sendPhoto",
            chat,
            params,
            caption=caption,
            reply_markup=markup,
            photo=self._photo_sizes(data, 1280, 960),
            photo_size=len(data),
        )

    def _api_senddocument(self, params: JSON, files: dict[str, tuple[str, bytes]]) -> JSON:
        chat = self._target_chat(params, sending=True)
        caption = caption_text(params)
        markup = validate_markup(params.get("reply_markup"))
        name, data = files.get("document") or ("file", str(params.get("document") or "").encode())
        if not data:
            raise bad_request("there is no document in the request")
        f = self._make_file("document", data, None, "bin")
        doc = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_name": name,
            "file_size": len(data),
        }
        return self._deliver(
            "sendDocument",
            chat,
            params,
            caption=caption,
            reply_markup=markup,
            document=doc,
            photo_size=len(data),
        )

    def _api_sendvoice(self, params: JSON, files: dict[str, tuple[str, bytes]]) -> JSON:
        chat = self._target_chat(params, sending=True)
        voice = params.get("voice")
        if isinstance(voice, str) and voice in self.files:
            stored = self.files[voice]
        elif "voice" in files:
            stored = self._make_file("voice", files["voice"][1], "audio/ogg", "ogg")
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return self._deliver(
            "sendVoice",
            chat,
            params,
            caption=caption_text(params),
            reply_markup=validate_markup(params.get("reply_markup")),
            voice={"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": 1},
            photo_size=len(stored.data),
        )

    def _api_sendlocation(self, params: JSON, files: Any) -> JSON:
        chat = self._target_chat(params, sending=True)
        loc = _location(params)
        return self._deliver(
            "sendLocation",
            chat,
            params,
            location=loc,
            reply_markup=validate_markup(params.get("reply_markup")),
        )

    def _api_sendvenue(self, params: JSON, files: Any) -> JSON:
        """A venue: a point with a title and an address, both required and non-empty as in the Bot API."""
        chat = self._target_chat(params, sending=True)
        loc = _location(params)
        if not -90 <= loc["latitude"] <= 90 or not -180 <= loc["longitude"] <= 180:
            raise bad_request("wrong latitude or longitude specified")
        title, address = str(params.get("title") or ""), str(params.get("address") or "")
        if not title.strip() or not address.strip():
            raise bad_request("venue title and address must be non-empty")
        return self._deliver(
            "sendVenue",
            chat,
            params,
            location=loc,
            venue={"location": loc, "title": title, "address": address},
            reply_markup=validate_markup(params.get("reply_markup")),
        )

    def _api_sendchataction(self, params: JSON, files: Any) -> bool:
        chat = self._target_chat(params, sending=True)
        self.chat_actions.append((chat.id, str(params.get("action") or "")))
        return True

    # ----------------------------------------------------------------- editing and deleting
    def _editable(self, params: JSON) -> StoredMessage:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        chat = self._target_chat(params, sending=False)
        msg = self._messages[chat.id].get(as_int(params.get("message_id"), "message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _record_edit(self, method: str, msg: StoredMessage) -> JSON:
        msg.edit_date = int(time.time())
        self._transcribe(method, msg, time.monotonic())
        return self.message_to_api(msg)

    def _api_editmessagetext(self, params: JSON, files: Any) -> JSON:
        msg = self._editable(params)
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        raw = str(params.get("text") or "")
        text = message_text(raw, params.get("parse_mode"), "MESSAGE_TOO_LONG")
        markup = inline_only(validate_markup(params.get("reply_markup")))
        if text == msg.text and markup_key(markup) == markup_key(inline_only(msg.reply_markup)):
            raise bad_request(_NOT_MODIFIED)
        msg.history.append(msg.text)
        msg.text, msg.raw_text, msg.reply_markup = text, raw, markup
        msg.parse_mode = params.get("parse_mode")
        return self._record_edit("editMessageText", msg)

    def _api_editmessagecaption(self, params: JSON, files: Any) -> JSON:
        msg = self._editable(params)
        if msg.text is not None:
            raise bad_request("there is no caption in the message to edit")
        caption = caption_text(params)
        markup = inline_only(validate_markup(params.get("reply_markup")))
        if caption == msg.caption and markup_key(markup) == markup_key(inline_only(msg.reply_markup)):
            raise bad_request(_NOT_MODIFIED)
        msg.history.append(msg.caption)
        msg.caption, msg.reply_markup = caption, markup
        return self._record_edit("editMessageCaption", msg)

    def _api_editmessagereplymarkup(self, params: JSON, files: Any) -> JSON:
        msg = self._editable(params)
        markup = inline_only(validate_markup(params.get("reply_markup")))
        if markup_key(markup) == markup_key(inline_only(msg.reply_markup)):
            raise bad_request(_NOT_MODIFIED)
        msg.reply_markup = markup
        return self._record_edit("editMessageReplyMarkup", msg)

    def _api_deletemessage(self, params: JSON, files: Any) -> bool:
        chat = self._target_chat(params, sending=False)
        msg = self._messages[chat.id].get(as_int(params.get("message_id"), "message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        if not msg.from_bot and chat.user is None:
            raise bad_request("message can't be deleted")
        msg.deleted = True
        self.transcript.append(
            TranscriptEntry(time.time(), time.monotonic(), "deleteMessage", chat.id, msg.message_id)
        )
        return True

    # ----------------------------------------------------------------- commands
    def _api_setmycommands(self, params: JSON, files: Any) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for c in commands:
            name = str(c.get("command", "")) if isinstance(c, dict) else ""
            if (
                not re.fullmatch(r"[a-z0-9_]{1,32}", name)
                or not 1 <= len(str(c.get("description", ""))) <= 256
            ):
                raise bad_request("BOT_COMMAND_INVALID")
        self.commands[str(params.get("language_code") or "")] = commands
        return True

    def _api_getmycommands(self, params: JSON, files: Any) -> list[JSON]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    def _api_deletemycommands(self, params: JSON, files: Any) -> bool:
        self.commands.pop(str(params.get("language_code") or ""), None)
        return True
