"""In-memory state of the Bot API emulator.

Holds users, chats, pending updates, every message in every chat, the transcript of the bot's calls,
injected faults and rate observations. All public methods are thread-safe (one re-entrant lock), so
tests may drive an emulator whose server runs in another thread or event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from typing import Any, TypeVar

T = TypeVar("T")
JSON = dict[str, Any]

DEFAULT_TOKEN = "123456789:TEST-emulator-token"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

#: Methods that deliver a new message; they are rate-observed and counted for duplicates.
SEND_METHODS = frozenset(
    {"sendmessage", "sendphoto", "senddocument", "sendlocation", "sendvenue", "sendsticker", "sendvoice",
     "sendvideo"}
)
#: Limits Telegram documents: 1/s per private chat, 20/min per group, 30/s overall.
PRIVATE_LIMIT = (1, 1.0)
GROUP_LIMIT = (20, 60.0)
GLOBAL_LIMIT = (30, 1.0)


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JSON:
        """Return the body Telegram sends for this error."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(what: str) -> ApiError:
    """A 400 error with Telegram's 'Bad Request: ' prefix."""
    return ApiError(400, f"Bad Request: {what}")


class Signal:
    """A change counter that sync threads and coroutines in any event loop can wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._version = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def version(self) -> int:
        """The number of changes so far."""
        return self._version

    def notify(self) -> None:
        """Record a change and wake every waiter."""
        with self._cond:
            self._version += 1
            waiters, self._waiters = self._waiters, []
            self._cond.notify_all()
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(_resolve, fut)

    async def wait(self, since: int, timeout: float) -> None:  # noqa: ASYNC109
        """Return when the version differs from ``since`` or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._version != since:
                return
            self._waiters.append((loop, fut))
        try:
            await asyncio.wait_for(fut, max(timeout, 0))
        except TimeoutError:
            pass
        finally:
            with self._cond:
                if (loop, fut) in self._waiters:
                    self._waiters.remove((loop, fut))

    def wait_sync(self, since: int, timeout: float) -> None:
        """Blocking variant of :meth:`wait`."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != since, max(timeout, 0))


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


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


@dataclass
class Fault:
    """An injected failure for the next ``remaining`` matching calls."""

    remaining: int
    status: int
    retry_after: int | None
    methods: frozenset[str] | None
    description: str
    apply: bool = False

    def matches(self, method: str) -> bool:
        """Whether this fault applies to ``method`` (getUpdates only when named)."""
        if self.methods is None:
            return method != "getupdates"
        return method in self.methods

    def error(self) -> ApiError:
        """The error this fault answers with."""
        return ApiError(self.status, self.description, self.retry_after)


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


@dataclass
class StoredFile:
    """A file the emulator can serve via getFile and the file URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None


@dataclass
class RateViolation:
    """More sends than Telegram allows inside one window."""

    scope: str
    chat_id: int | None
    count: int
    limit: int
    window: float
    at: float

    def to_dict(self) -> JSON:
        """A JSON-friendly view."""
        return asdict(self)


@dataclass
class WebhookConfig:
    """The webhook the bot set."""

    url: str
    secret_token: str | None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


UserRef = int | EmuUser
MessageRef = int | StoredMessage

_ALLOWED_HTML = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")
_MD2_RESERVED = re.compile(r"(?<!\\)[.!#+\-={}]")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class _HtmlChecker(HTMLParser):
    """Validates Telegram's HTML subset and collects the plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_HTML:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise bad_request(f'can\'t parse entities: Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def parse_formatted(text: str, parse_mode: str | None) -> str:
    """Check ``text`` against ``parse_mode`` like Telegram does and return the visible text."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text
    if mode == "html":
        if re.search(r"<(?![A-Za-z/])", text) or re.search(r"&(?!#?\w+;)", text):
            raise bad_request("can't parse entities: unescaped '<' or '&'")
        checker = _HtmlChecker()
        checker.feed(text)
        checker.close()
        if checker.stack:
            raise bad_request(
                f"can't parse entities: Can't find end tag corresponding to \"{checker.stack[-1]}\""
            )
        return html.unescape("".join(checker.parts))
    if mode == "markdownv2":
        bad = _MD2_RESERVED.search(text)
        if bad:
            raise bad_request(
                f"can't parse entities: Character '{bad.group()}' is reserved and must be escaped "
                "with the preceding '\\'"
            )
        return re.sub(r"\\(.)", r"\1", re.sub(r"(?<!\\)[*_~|`]", "", text))
    if mode == "markdown":
        return re.sub(r"(?<!\\)[*_`]", "", text)
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def _validate_markup(markup: Any) -> JSON | None:
    """Validate a reply_markup object like Telegram does; return it normalised."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        for row in rows:
            for b in row:
                if not isinstance(b, dict) or not b.get("text"):
                    raise bad_request("can't parse inline keyboard button: Text buttons are unallowed")
                data = b.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                    raise bad_request("BUTTON_DATA_INVALID")
                kinds = {
                    "callback_data",
                    "url",
                    "switch_inline_query",
                    "web_app",
                    "login_url",
                    "pay",
                    "switch_inline_query_current_chat",
                    "copy_text",
                    "callback_game",
                }
                if not kinds & b.keys():
                    raise bad_request("can't parse inline keyboard button: Text buttons are unallowed")
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        for row in rows:
            for b in row:
                if not (isinstance(b, str) and b) and not (isinstance(b, dict) and b.get("text")):
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request('can\'t find field "inline_keyboard"')


def _markup_key(markup: JSON | None) -> str:
    return json.dumps(markup, sort_keys=True, ensure_ascii=False) if markup else ""


def _inline_only(markup: JSON | None) -> JSON | None:
    return markup if markup and markup.get("inline_keyboard") else None


def _as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


class EmulatorState:
    """Everything the emulator knows; the Python control API lives here."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "gridbot_emu_bot",
        bot_name: str = "Gridbot",
        strict_rate_limits: bool = False,
        webhook_retry_delay: float = 0.5,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.strict_rate_limits = strict_rate_limits
        self.webhook_retry_delay = webhook_retry_delay
        self.signal = Signal()
        self._lock = threading.RLock()
        self.users: dict[int, EmuUser] = {}
        self.chats: dict[int, EmuChat] = {}
        self._messages: dict[int, dict[int, StoredMessage]] = {}
        self._updates: list[JSON] = []
        self._next_update_id = 100_000
        self.update_times: dict[int, float] = {}
        self.injections: list[tuple[int, int, float]] = []
        self.webhook: WebhookConfig | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []
        self.transcript: list[TranscriptEntry] = []
        self.calls: list[ApiCall] = []
        self._faults: list[Fault] = []
        self.delay = 0.0
        self.delay_methods: frozenset[str] | None = None
        self._send_times: dict[int, list[float]] = {}
        self._all_send_times: list[float] = []
        self._sent_keys: dict[tuple[int, str, str, str], int] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self._next_callback = 0
        self.files: dict[str, StoredFile] = {}
        self._next_file = 0
        self.commands: dict[str, list[JSON]] = {}
        self.chat_actions: list[tuple[int, str]] = []

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

    # ----------------------------------------------------------------- user → bot updates
    def _new_message(self, chat: EmuChat, *, from_bot: bool, user_id: int | None = None) -> StoredMessage:
        msg = StoredMessage(chat.id, chat.next_message_id, int(time.time()), from_bot, user_id)
        chat.next_message_id += 1
        self._messages[chat.id][msg.message_id] = msg
        return msg

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
            markup = _inline_only(msg.reply_markup)
            if markup:
                d["reply_markup"] = markup
            return d

    def _push_update(self, kind: str, payload: JSON) -> JSON:
        with self._lock:
            update = {"update_id": self._next_update_id, kind: payload}
            self.update_times[self._next_update_id] = time.monotonic()
            self._next_update_id += 1
            self._updates.append(update)
        self.signal.notify()
        return update

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

    def _make_file(self, kind: str, data: bytes, mime: str | None = None, ext: str = "bin") -> StoredFile:
        with self._lock:
            self._next_file += 1
            n = self._next_file
            uid = hashlib.sha1(data + str(n).encode()).hexdigest()[:16]
            f = StoredFile(
                f"{kind[:3].upper()}-{n}-{uid}", f"U{uid[:10]}", f"{kind}s/file_{n}.{ext}", data, mime
            )
            self.files[f.file_id] = f
            return f

    def _photo_sizes(self, data: bytes, width: int, height: int) -> list[JSON]:
        sizes = []
        for scale in (0.07, 1.0):
            part = data if scale == 1.0 else data[: max(1, len(data) // 10)]
            f = self._make_file("photo", part, "image/jpeg", "jpg")
            sizes.append(
                {
                    "file_id": f.file_id,
                    "file_unique_id": f.file_unique_id,
                    "file_size": len(part),
                    "width": max(1, int(width * scale)),
                    "height": max(1, int(height * scale)),
                }
            )
        return sizes

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
        f = self._make_file("voice", b"OggS" + bytes(2000), "audio/ogg", "oga")
        voice = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(f.data),
        }
        return self._user_message(user, chat, voice=voice)

    def send_video(self, user: UserRef, duration: int = 5, chat: int | None = None) -> JSON:
        """The user sends a video."""
        f = self._make_file("video", b"\x00\x00\x00\x18ftypmp42" + bytes(4000), "video/mp4", "mp4")
        video = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "width": 640,
            "height": 360,
            "duration": duration,
            "mime_type": "video/mp4",
            "file_size": len(f.data),
        }
        return self._user_message(user, chat, video=video)

    def send_document(
        self,
        user: UserRef,
        file_name: str = "report.pdf",
        chat: int | None = None,
        caption: str | None = None,
    ) -> JSON:
        """The user sends a file."""
        f = self._make_file("document", b"%PDF-1.4\n" + bytes(1000), "application/pdf", "pdf")
        doc = {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_name": file_name,
            "mime_type": "application/pdf",
            "file_size": len(f.data),
        }
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
        with self._lock:
            self._next_file += 1
            poll_id = str(5_000_000_000 + self._next_file)
        poll = {
            "id": poll_id,
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

    # ----------------------------------------------------------------- queries
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

    def transcript_for(self, chat_id: int) -> list[TranscriptEntry]:
        """Transcript entries of one chat."""
        with self._lock:
            return [e for e in self.transcript if e.chat_id == chat_id]

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot."""
        with self._lock:
            return list(self._updates)

    def unanswered_callbacks(self) -> list[CallbackRecord]:
        """Callback queries the bot has not answered."""
        with self._lock:
            return [c for c in self.callbacks.values() if not c.answered]

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded requests of one method (case-insensitive)."""
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    @property
    def sent_count(self) -> int:
        """How many messages the bot has sent successfully (cheap, for wait_for predicates)."""
        return len(self._all_send_times)

    def update_times_snapshot(self) -> dict[int, float]:
        """Update id → monotonic time the update was created (a copy)."""
        with self._lock:
            return dict(self.update_times)

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Monotonic times of successful sends to a chat (or of all sends)."""
        with self._lock:
            return list(self._all_send_times if chat_id is None else self._send_times.get(chat_id, []))

    def rate_violations(self, tolerance: float = 0.05) -> list[RateViolation]:
        """The worst over-limit burst per chat (1/s private, 20/min group) and overall (30/s).

        ``tolerance`` shortens each window to absorb network jitter between the bot and the emulator.
        """
        out: list[RateViolation] = []
        with self._lock:
            for chat_id, times in self._send_times.items():
                limit, window = PRIVATE_LIMIT if chat_id > 0 else GROUP_LIMIT
                worst = _worst_window(times, window - tolerance)
                if worst[0] > limit:
                    out.append(RateViolation("chat", chat_id, worst[0], limit, window, worst[1]))
            worst = _worst_window(self._all_send_times, GLOBAL_LIMIT[1] - tolerance)
            if worst[0] > GLOBAL_LIMIT[0]:
                out.append(
                    RateViolation("global", None, worst[0], GLOBAL_LIMIT[0], GLOBAL_LIMIT[1], worst[1])
                )
        return out

    def duplicate_sends(self) -> list[JSON]:
        """Sends repeated to the same chat with the same content and markup: [{chat_id, text, count}]."""
        with self._lock:
            return [
                {"chat_id": k[0], "method": k[1], "text": k[2], "reply_markup": k[3], "count": n}
                for k, n in self._sent_keys.items()
                if n > 1
            ]

    def stats(self) -> JSON:
        """A summary for assertions and the control API."""
        with self._lock:
            by_method: dict[str, int] = {}
            for c in self.calls:
                by_method[c.method] = by_method.get(c.method, 0) + 1
            return {
                "pending_updates": len(self._updates),
                "next_update_id": self._next_update_id,
                "sent_messages": len(self._all_send_times),
                "calls_by_method": by_method,
                "duplicates": self.duplicate_sends(),
                "rate_violations": [v.to_dict() for v in self.rate_violations()],
                "unanswered_callbacks": len(self.unanswered_callbacks()),
                "webhook": asdict(self.webhook) if self.webhook else None,
            }

    # ----------------------------------------------------------------- waiting
    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy and return its value; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            version = self.signal.version
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            await self.signal.wait(version, min(remaining, 0.5))

    def wait_for_sync(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Blocking :meth:`wait_for` for threads and sync tests."""
        deadline = time.monotonic() + timeout
        while True:
            version = self.signal.version
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            self.signal.wait_sync(version, min(remaining, 0.5))

    # ----------------------------------------------------------------- faults
    def fail_next(
        self,
        n: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        methods: Iterable[str] | None = None,
        *,
        description: str | None = None,
        apply: bool = False,
    ) -> None:
        """Answer the next ``n`` matching calls with an error.

        ``methods=None`` matches every method except getUpdates. ``retry_after`` only applies to 429.
        With ``apply`` the call takes effect (the message is delivered) before the error is returned,
        like a response lost on the way back.
        """
        desc = description or {
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(status, f"Error {status}")
        names = frozenset(m.lower() for m in methods) if methods is not None else None
        with self._lock:
            self._faults.append(Fault(n, status, retry_after if status == 429 else None, names, desc, apply))

    def clear_faults(self) -> None:
        """Drop every pending injected fault and the request delay."""
        with self._lock:
            self._faults.clear()
            self.delay = 0.0

    def set_delay(self, seconds: float, methods: Iterable[str] | None = None) -> None:
        """Delay answers of ``methods`` (all but getUpdates when None) by ``seconds``."""
        with self._lock:
            self.delay = seconds
            self.delay_methods = frozenset(m.lower() for m in methods) if methods is not None else None

    def delay_for(self, method: str) -> float:
        """The configured delay for ``method``."""
        with self._lock:
            if self.delay_methods is None:
                return 0.0 if method.lower() == "getupdates" else self.delay
            return self.delay if method.lower() in self.delay_methods else 0.0

    def take_fault(self, method: str) -> Fault | None:
        """Consume one matching fault, if any."""
        with self._lock:
            for f in self._faults:
                if f.remaining > 0 and f.matches(method.lower()):
                    f.remaining -= 1
                    if f.remaining == 0:
                        self._faults.remove(f)
                    return f
            return None

    def record_call(self, method: str, params: JSON, status: int, description: str | None = None, *,
                    content_type: str = "") -> None:
        """Log one answered request."""
        with self._lock:
            self.calls.append(ApiCall(time.time(), method, params, status, description, content_type))
        self.signal.notify()

    # ----------------------------------------------------------------- getUpdates and webhook
    def take_updates(self, offset: int | None, limit: int) -> list[JSON]:
        """Confirm updates below ``offset`` and return up to ``limit`` pending ones (409 if webhook)."""
        with self._lock:
            if self.webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if offset is not None and offset < 0:
                self._updates = self._updates[offset:]
            elif offset is not None:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            return self._updates[: max(1, min(limit, 100))]

    def next_webhook_update(self) -> tuple[WebhookConfig, JSON] | None:
        """The webhook and the oldest undelivered update, if both exist."""
        with self._lock:
            if self.webhook is None or not self._updates:
                return None
            return self.webhook, self._updates[0]

    def webhook_result(self, update_id: int, status: int, error: str | None = None) -> None:
        """Record a webhook delivery attempt; a 200 confirms the update."""
        with self._lock:
            self.webhook_deliveries.append((update_id, status))
            if status == 200:
                self._updates = [u for u in self._updates if u["update_id"] != update_id]
            elif self.webhook is not None:
                self.webhook.last_error_date = int(time.time())
                self.webhook.last_error_message = error or f"Wrong response from the webhook: {status}"
        self.signal.notify()

    # ----------------------------------------------------------------- Bot API methods
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
        chat = self.chats.get(_as_int(raw, "chat_id"))
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

    def _check_rate(self, chat_id: int) -> None:
        now = time.monotonic()
        limit, window = PRIVATE_LIMIT if chat_id > 0 else GROUP_LIMIT
        recent = [t for t in self._send_times.get(chat_id, []) if now - t < window]
        overall = [t for t in self._all_send_times if now - t < GLOBAL_LIMIT[1]]
        wait = 0.0
        if len(recent) >= limit:
            wait = recent[-limit] + window - now
        if len(overall) >= GLOBAL_LIMIT[0]:
            wait = max(wait, overall[-GLOBAL_LIMIT[0]] + GLOBAL_LIMIT[1] - now)
        if wait > 0:
            secs = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {secs}", secs)

    def _deliver(self, method: str, chat: EmuChat, params: JSON, **content: Any) -> JSON:
        """Store a bot message, record transcript, rate and duplicate observations."""
        if self.strict_rate_limits:
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
        now = time.monotonic()
        self._send_times.setdefault(chat.id, []).append(now)
        self._all_send_times.append(now)
        key = (chat.id, method, msg.text or msg.caption or "", _markup_key(markup))
        self._sent_keys[key] = self._sent_keys.get(key, 0) + 1
        self.transcript.append(
            TranscriptEntry(
                time.time(),
                now,
                method,
                chat.id,
                msg.message_id,
                msg.text,
                msg.caption,
                markup,
                msg.parse_mode,
                photo_size,
            )
        )
        return self.message_to_api(msg)

    def _api_getme(self, params: JSON, files: Any) -> JSON:
        return self.bot_user()

    def _api_sendmessage(self, params: JSON, files: Any) -> JSON:
        chat = self._target_chat(params, sending=True)
        raw = str(params.get("text") or "")
        text = parse_formatted(raw, params.get("parse_mode"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = _validate_markup(params.get("reply_markup"))
        return self._deliver("sendMessage", chat, params, text=text, raw_text=raw, reply_markup=markup)

    def _api_sendphoto(self, params: JSON, files: dict[str, tuple[str, bytes]]) -> JSON:
        chat = self._target_chat(params, sending=True)
        caption = self._caption(params)
        markup = _validate_markup(params.get("reply_markup"))
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
        caption = self._caption(params)
        markup = _validate_markup(params.get("reply_markup"))
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
            caption=self._caption(params),
            reply_markup=_validate_markup(params.get("reply_markup")),
            voice={"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": 1},
            photo_size=len(stored.data),
        )

    def _api_sendlocation(self, params: JSON, files: Any) -> JSON:
        chat = self._target_chat(params, sending=True)
        try:
            loc = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude specified") from None
        return self._deliver(
            "sendLocation",
            chat,
            params,
            location=loc,
            reply_markup=_validate_markup(params.get("reply_markup")),
        )

    def _api_sendvenue(self, params: JSON, files: Any) -> JSON:
        """A venue: a point with a title and an address, both required and non-empty as in the Bot API."""
        chat = self._target_chat(params, sending=True)
        try:
            loc = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude specified") from None
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
            reply_markup=_validate_markup(params.get("reply_markup")),
        )

    def _caption(self, params: JSON) -> str | None:
        raw = params.get("caption")
        if raw is None:
            return None
        caption = parse_formatted(str(raw), params.get("parse_mode"))
        if len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return caption

    def _editable(self, params: JSON) -> StoredMessage:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the emulator")
        chat = self._target_chat(params, sending=False)
        msg = self._messages[chat.id].get(_as_int(params.get("message_id"), "message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _record_edit(self, method: str, msg: StoredMessage) -> JSON:
        msg.edit_date = int(time.time())
        self.transcript.append(
            TranscriptEntry(
                time.time(),
                time.monotonic(),
                method,
                msg.chat_id,
                msg.message_id,
                msg.text,
                msg.caption,
                msg.reply_markup,
                msg.parse_mode,
            )
        )
        return self.message_to_api(msg)

    def _api_editmessagetext(self, params: JSON, files: Any) -> JSON:
        msg = self._editable(params)
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        raw = str(params.get("text") or "")
        text = parse_formatted(raw, params.get("parse_mode"))
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        markup = _inline_only(_validate_markup(params.get("reply_markup")))
        if text == msg.text and _markup_key(markup) == _markup_key(_inline_only(msg.reply_markup)):
            raise bad_request(_NOT_MODIFIED)
        msg.history.append(msg.text)
        msg.text, msg.raw_text, msg.reply_markup = text, raw, markup
        msg.parse_mode = params.get("parse_mode")
        return self._record_edit("editMessageText", msg)

    def _api_editmessagecaption(self, params: JSON, files: Any) -> JSON:
        msg = self._editable(params)
        if msg.text is not None:
            raise bad_request("there is no caption in the message to edit")
        caption = self._caption(params)
        markup = _inline_only(_validate_markup(params.get("reply_markup")))
        if caption == msg.caption and _markup_key(markup) == _markup_key(_inline_only(msg.reply_markup)):
            raise bad_request(_NOT_MODIFIED)
        msg.history.append(msg.caption)
        msg.caption, msg.reply_markup = caption, markup
        return self._record_edit("editMessageCaption", msg)

    def _api_editmessagereplymarkup(self, params: JSON, files: Any) -> JSON:
        msg = self._editable(params)
        markup = _inline_only(_validate_markup(params.get("reply_markup")))
        if _markup_key(markup) == _markup_key(_inline_only(msg.reply_markup)):
            raise bad_request(_NOT_MODIFIED)
        msg.reply_markup = markup
        return self._record_edit("editMessageReplyMarkup", msg)

    def _api_deletemessage(self, params: JSON, files: Any) -> bool:
        chat = self._target_chat(params, sending=False)
        msg = self._messages[chat.id].get(_as_int(params.get("message_id"), "message_id"))
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        if not msg.from_bot and chat.user is None:
            raise bad_request("message can't be deleted")
        msg.deleted = True
        self.transcript.append(
            TranscriptEntry(time.time(), time.monotonic(), "deleteMessage", chat.id, msg.message_id)
        )
        return True

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

    def _api_sendchataction(self, params: JSON, files: Any) -> bool:
        chat = self._target_chat(params, sending=True)
        self.chat_actions.append((chat.id, str(params.get("action") or "")))
        return True

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

    def _api_getfile(self, params: JSON, files: Any) -> JSON:
        f = self.files.get(str(params.get("file_id") or ""))
        if f is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": f.file_id,
            "file_unique_id": f.file_unique_id,
            "file_size": len(f.data),
            "file_path": f.file_path,
        }

    def file_by_path(self, path: str) -> StoredFile | None:
        """The stored file with this ``file_path``."""
        with self._lock:
            return next((f for f in self.files.values() if f.file_path == path), None)

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

    def _api_setwebhook(self, params: JSON, files: Any) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._api_deletewebhook(params, files)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        self.webhook = WebhookConfig(
            url, None if secret is None else str(secret), int(params.get("max_connections") or 40)
        )
        return True

    def _api_deletewebhook(self, params: JSON, files: Any) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._updates.clear()
        return True

    def _api_getwebhookinfo(self, params: JSON, files: Any) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}
        if self.webhook is not None:
            info.update(
                {
                    "url": self.webhook.url,
                    "max_connections": self.webhook.max_connections,
                    "ip_address": "127.0.0.1",
                }
            )
            if self.webhook.last_error_date is not None:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info


_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_NOOP_METHODS = frozenset(
    {"setmydescription", "setmyshortdescription", "setmyname", "setchatmenubutton", "close", "logout"}
)


def _worst_window(times: list[float], window: float) -> tuple[int, float]:
    """The largest number of timestamps inside any window of ``window`` seconds, and when."""
    best, at, i = 0, 0.0, 0
    for j, t in enumerate(times):
        while t - times[i] >= window:
            i += 1
        if j - i + 1 > best:
            best, at = j - i + 1, t
    return best, at
