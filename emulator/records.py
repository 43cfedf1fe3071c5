"""The records the emulator keeps about its world: users, chats, messages, what the bot did and asked."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from emulator.errors import JSON


@dataclass
class EmuUser:
    """A Telegram user as the emulator knows them."""

    id: int
    first_name: str
    language_code: str = "en"
    username: str | None = None
    last_name: str | None = None
    blocked: bool = False
    started: bool = False

    def to_api(self) -> JSON:
        """The ``User`` object."""
        d: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        d["language_code"] = self.language_code
        return d


@dataclass
class EmuChat:
    """A private chat (id = user id) or a group chat (negative id)."""

    id: int
    type: str
    title: str | None = None
    user: EmuUser | None = None
    bot_member: bool = True
    next_message_id: int = 1

    def to_api(self) -> JSON:
        """The ``Chat`` object."""
        if self.user is not None:
            d: JSON = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.username:
                d["username"] = self.user.username
            return d
        return {"id": self.id, "type": self.type, "title": self.title or f"Group {self.id}"}


@dataclass
class Button:
    """An inline keyboard button found on a message."""

    chat_id: int
    message_id: int
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class StoredMessage:
    """A message in a chat, sent by a user or by the bot; edits update it in place."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    user_id: int | None = None
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    raw_text: str | None = None
    reply_markup: JSON | None = None
    entities: list[JSON] | None = None
    media: JSON = field(default_factory=dict)
    edit_date: int | None = None
    deleted: bool = False
    history: list[str | None] = field(default_factory=list)

    def buttons(self) -> list[Button]:
        """The inline keyboard buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            Button(self.chat_id, self.message_id, b.get("text", ""), b.get("callback_data"), b.get("url"))
            for row in rows
            for b in row
        ]

    def to_dict(self) -> JSON:
        """A JSON-friendly view for the control API."""
        return asdict(self)


@dataclass
class TranscriptEntry:
    """One bot→user call that changed a chat (send, edit or delete)."""

    time: float
    mono: float
    method: str
    chat_id: int
    message_id: int | None
    text: str | None = None
    caption: str | None = None
    reply_markup: JSON | None = None
    parse_mode: str | None = None
    photo_size: int | None = None

    def to_dict(self) -> JSON:
        """A JSON-friendly view."""
        return asdict(self)


@dataclass
class ApiCall:
    """Every Bot API request the emulator answered."""

    time: float
    method: str
    params: JSON
    status: int
    description: str | None = None
    content_type: str = ""  # the request body's media type ("" when it had none)

    def to_dict(self) -> JSON:
        """A JSON-friendly view."""
        return asdict(self)
