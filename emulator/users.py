"""What simulated users do: send text, media, locations and polls, edit their texts, add the bot to a
group. Each action stores the user's message and queues the update the bot will receive."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from typing import Any

from emulator.errors import JSON
from emulator.files import FileStore
from emulator.updates import UpdateQueue
from emulator.world import UserRef

_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")


class UserActions(UpdateQueue, FileStore):
    """The user side of every chat, as a test drives it."""

    def _init_user_actions(self) -> None:
        self.injections: list[tuple[int, int, float]] = []

    def _user_message(self, user: UserRef, chat: int | None, **content: Any) -> JSON:
        with self._lock:
            u = self._user(user)
            u.started = True
            c = self._chat_for(u, chat)
            msg = self._new_message(c, from_bot=False, user_id=u.id)
            msg.text = content.pop("text", None)
            msg.caption = content.pop("caption", None)
            msg.entities = content.pop("entities", None)
            msg.media = content
            return self._push_update("message", self.message_to_api(msg))

    def send_text(self, user: UserRef, text: str, chat: int | None = None) -> JSON:
        """The user sends ``text`` (commands get a ``bot_command`` entity). Returns the update."""
        m = _COMMAND.match(text)
        entities = [{"type": "bot_command", "offset": 0, "length": len(m.group())}] if m else None
        return self._user_message(user, chat, text=text, entities=entities)

    def send_texts(self, messages: list[tuple[UserRef, str]]) -> list[JSON]:
        """Many users send text at once (a burst, in order): ``[(user, text), ...]``. Returns the updates."""
        return [self._inject_text(user, text) for user, text in messages]

    async def send_texts_paced(self, messages: list[tuple[UserRef, str]], rate: float) -> int:
        """Users send texts one after another at ``rate`` per second, paced on the emulator's own loop (so
        whoever drives it spends nothing per message); see :meth:`injections_snapshot`."""
        started = time.monotonic()
        for i, (user, text) in enumerate(messages):
            self._inject_text(user, text)
            await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
        return len(messages)

    def _inject_text(self, user: UserRef, text: str) -> JSON:
        update = self.send_text(user, text)
        message = update["message"]
        with self._lock:
            self.injections.append((message["chat"]["id"], message["message_id"],
                                    self.update_times[update["update_id"]]))
        return update

    def injections_snapshot(self) -> list[tuple[int, int, float]]:
        """``(chat_id, message_id, created monotonic time)`` of every text sent by send_texts(_paced)."""
        with self._lock:
            return list(self.injections)

    def send_photo(
        self,
        user: UserRef,
        caption: str | None = None,
        chat: int | None = None,
        *,
        data: bytes | None = None,
        width: int = 1280,
        height: int = 960,
    ) -> JSON:
        """The user sends a photo (fake JPEG bytes unless ``data``), optionally with a caption."""
        payload = data if data is not None else b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
        return self._user_message(
            user, chat, caption=caption, photo=self._photo_sizes(payload, width, height)
        )

    def send_location(self, user: UserRef, lat: float, lon: float, chat: int | None = None) -> JSON:
        """The user shares a location."""
        return self._user_message(user, chat, location={"latitude": lat, "longitude": lon})

    def send_sticker(self, user: UserRef, emoji: str = "👍", chat: int | None = None) -> JSON:
        """The user sends a sticker."""
        f = self._make_file("sticker", b"RIFF-webp-sticker", "image/webp", "webp")
        sticker = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": emoji,
        }
        return self._user_message(user, chat, sticker=sticker)

    def send_voice(self, user: UserRef, duration: int = 3, chat: int | None = None) -> JSON:
        """The user sends a voice note (fake OGG bytes, downloadable)."""
        voice = self._file_object("voice", b"OggS" + bytes(2000), "audio/ogg", "oga", duration=duration)
        return self._user_message(user, chat, voice=voice)

    def send_video(self, user: UserRef, duration: int = 5, chat: int | None = None) -> JSON:
        """The user sends a video."""
        video = self._file_object(
            "video", b"\x00\x00\x00\x18ftypmp42" + bytes(4000), "video/mp4", "mp4",
            width=640, height=360, duration=duration,
        )
        return self._user_message(user, chat, video=video)

    def send_document(
        self,
        user: UserRef,
        file_name: str = "report.pdf",
        chat: int | None = None,
        caption: str | None = None,
    ) -> JSON:
        """The user sends a file."""
        doc = self._file_object(
            "document", b"%PDF-1.4\n" + bytes(1000), "application/pdf", "pdf", file_name=file_name
        )
        return self._user_message(user, chat, caption=caption, document=doc)

    def send_contact(
        self, user: UserRef, phone_number: str = "+8613800000000", chat: int | None = None
    ) -> JSON:
        """The user shares their contact card."""
        u = self._user(user)
        contact = {"phone_number": phone_number, "first_name": u.first_name, "user_id": u.id}
        return self._user_message(u, chat, contact=contact)

    def send_poll(
        self,
        user: UserRef,
        question: str = "?",
        options: Iterable[str] = ("yes", "no"),
        chat: int | None = None,
    ) -> JSON:
        """The user sends a poll."""
        poll = {
            "id": str(5_000_000_000 + self._serial()),
            "question": question,
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
            "options": [
                {"text": o, "voter_count": 0, "persistent_id": str(i)} for i, o in enumerate(options)
            ],
        }
        return self._user_message(user, chat, poll=poll)

    def edit_text(self, user: UserRef, message_id: int, new_text: str, chat: int | None = None) -> JSON:
        """The user edits one of their text messages: an ``edited_message`` update."""
        with self._lock:
            u = self._user(user)
            c = self._chat_for(u, chat)
            msg = self._messages[c.id].get(message_id)
            if msg is None or msg.from_bot or msg.user_id != u.id or msg.text is None:
                raise ValueError(f"user {u.id} has no text message {message_id} in chat {c.id}")
            msg.history.append(msg.text)
            msg.text = new_text
            msg.edit_date = int(time.time())
            return self._push_update("edited_message", self.message_to_api(msg))

    def bot_added_to_group(self, user: UserRef, chat_id: int, title: str | None = None) -> JSON:
        """A user adds the bot to a group: a ``my_chat_member`` update (the group is created)."""
        with self._lock:
            u = self._user(user)
            chat = self.add_group(chat_id, title)
            chat.bot_member = True
            bot = self.bot_user()
            payload = {
                "chat": chat.to_api(),
                "from": u.to_api(),
                "date": int(time.time()),
                "old_chat_member": {"status": "left", "user": bot},
                "new_chat_member": {"status": "member", "user": bot},
            }
        return self._push_update("my_chat_member", payload)
