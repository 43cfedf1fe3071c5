"""HTTP control endpoints under ``/_emu/...`` and :class:`RemoteEmulator`, a small sync client for them.

They let a test drive an emulator that runs in another process (``python -m emulator``):

* ``POST /_emu/<action>`` with a JSON body of keyword arguments runs one of :data:`ACTIONS`
  (``user``/``user_id``, ``chat``/``chat_id`` and ``message``/``message_id`` are accepted alike);
  answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "description": ...}`` with status 400.
* ``GET /_emu/<query>`` for ``health``, ``messages``, ``last_message``, ``find_button``, ``transcript``,
  ``calls``, ``callbacks``, ``updates``, ``stats``, ``sent_count``, ``update_times`` (update id →
  monotonic time it was created; ``time.monotonic`` is one clock for every process of a host),
  ``injections`` (``[chat_id, message_id, created]`` of texts sent by ``send_texts``/``pace_texts``) and
  ``wait_message`` (long-polls for a bot message).
* ``POST /_emu/pace_texts`` with ``{"messages": [[user, text], ...], "rate": R}`` starts sending them at R per
  second from the emulator's own loop and answers at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

import httpx
from aiohttp import web

if TYPE_CHECKING:
    from emulator.state import EmulatorState

ACTIONS = frozenset(
    {
        "add_user",
        "add_group",
        "block_user",
        "unblock_user",
        "send_text",
        "send_texts",
        "send_photo",
        "send_location",
        "send_sticker",
        "send_voice",
        "send_video",
        "send_document",
        "send_contact",
        "send_poll",
        "edit_text",
        "press",
        "click",
        "bot_added_to_group",
        "fail_next",
        "clear_faults",
        "set_delay",
    }
)
_ALIASES = {"user_id": "user", "chat_id": "chat", "message_id": "message"}
_ALIAS_KEEP = {
    "add_user": {"user_id"},
    "add_group": {"chat_id"},
    "block_user": {"user_id"},
    "unblock_user": {"user_id"},
    "click": {"chat_id"},
    "bot_added_to_group": {"chat_id"},
    "edit_text": {"message_id"},
}


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": _jsonable(result)})


def _int(request: web.Request, name: str) -> int:
    try:
        return int(request.query[name])
    except (KeyError, ValueError):
        raise web.HTTPBadRequest(text=f"query parameter {name} (integer) is required") from None


def add_control_routes(app: web.Application, state: EmulatorState) -> None:
    """Register ``/_emu/...`` on ``app`` for ``state``."""

    paced: set[asyncio.Task[int]] = set()

    async def action(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name == "pace_texts":  # runs on in the background; watch it with GET /_emu/injections
            spec = await request.json()
            task = asyncio.get_running_loop().create_task(
                state.send_texts_paced([tuple(m) for m in spec["messages"]], float(spec["rate"])))
            paced.add(task)
            task.add_done_callback(paced.discard)
            return _ok(len(spec["messages"]))
        if name not in ACTIONS:
            return web.json_response({"ok": False, "description": f"unknown action {name}"}, status=404)
        body: dict[str, Any] = await request.json() if request.can_read_body else {}
        keep = _ALIAS_KEEP.get(name, set())
        kwargs = {(k if k in keep else _ALIASES.get(k, k)): v for k, v in body.items()}
        try:
            return _ok(getattr(state, name)(**kwargs))
        except (TypeError, ValueError) as exc:
            return web.json_response({"ok": False, "description": str(exc)}, status=400)

    async def query(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        q = request.query
        if name == "health":
            return _ok({"token_bot_id": state.bot_id, "pending_updates": len(state.pending_updates())})
        if name == "messages":
            return _ok(state.messages_to(_int(request, "chat_id"), include_deleted="include_deleted" in q))
        if name == "last_message":
            return _ok(state.last_message(_int(request, "chat_id")))
        if name == "find_button":
            return _ok(state.find_button(_int(request, "chat_id"), q.get("text", "")))
        if name == "transcript":
            entries = (
                state.transcript_for(_int(request, "chat_id")) if "chat_id" in q else list(state.transcript)
            )
            return _ok(entries)
        if name == "calls":
            return _ok(state.calls_to(q["method"]) if "method" in q else list(state.calls))
        if name == "callbacks":
            return _ok(list(state.callbacks.values()))
        if name == "updates":
            return _ok(state.pending_updates())
        if name == "stats":
            return _ok(state.stats())
        if name == "injections":
            return _ok(state.injections_snapshot())
        if name == "sent_count":
            return _ok(state.sent_count)
        if name == "update_times":
            return _ok({str(k): v for k, v in state.update_times_snapshot().items()})
        if name == "wait_message":
            return await wait_message(request)
        return web.json_response({"ok": False, "description": f"unknown query {name}"}, status=404)

    async def wait_message(request: web.Request) -> web.Response:
        chat_id = _int(request, "chat_id")
        contains = request.query.get("contains")
        count = int(request.query.get("count", "1"))
        timeout = float(request.query.get("timeout", "10"))

        def found() -> Any:
            msgs = state.messages_to(chat_id)
            if contains is not None:
                return next((m for m in reversed(msgs) if contains in (m.text or m.caption or "")), None)
            return msgs[count - 1] if len(msgs) >= count else None

        try:
            return _ok(await state.wait_for(found, timeout))
        except TimeoutError:
            return web.json_response({"ok": False, "description": "timed out"}, status=408)

    app.router.add_post("/_emu/{name}", action)
    app.router.add_get("/_emu/{name}", query)


class RemoteEmulator:
    """Sync client for the control endpoints of an emulator in another process."""

    def __init__(self, control_url: str, timeout: float = 30.0) -> None:
        self.control_url = control_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def _result(self, resp: httpx.Response) -> Any:
        body = resp.json()
        if not body.get("ok"):
            if resp.status_code == 408:
                raise TimeoutError(body.get("description"))
            raise RuntimeError(f"emulator control: {body.get('description')}")
        return body["result"]

    def action(self, name: str, **kwargs: Any) -> Any:
        """Run one of :data:`ACTIONS` with keyword arguments."""
        return self._result(self._http.post(f"{self.control_url}/{name}", json=kwargs))

    def query(self, name: str, **params: Any) -> Any:
        """Run a GET query."""
        return self._result(self._http.get(f"{self.control_url}/{name}", params=params))

    def send_text(self, user_id: int, text: str, chat_id: int | None = None) -> dict[str, Any]:
        """The user sends text; returns the update."""
        result: dict[str, Any] = self.action("send_text", user=user_id, text=text, chat=chat_id)
        return result

    def press(self, user_id: int, message_id: int, callback_data: str, chat_id: int | None = None) -> str:
        """The user presses a button; returns the callback query id."""
        return str(
            self.action("press", user=user_id, message=message_id, callback_data=callback_data, chat=chat_id)
        )

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in a chat (current state)."""
        result: list[dict[str, Any]] = self.query("messages", chat_id=chat_id)
        return result

    def last_message(self, chat_id: int) -> dict[str, Any] | None:
        """The bot's newest message in a chat."""
        result: dict[str, Any] | None = self.query("last_message", chat_id=chat_id)
        return result

    def wait_message(
        self, chat_id: int, contains: str | None = None, count: int = 1, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait for the bot's ``count``-th message in a chat, or one containing ``contains``."""
        params: dict[str, Any] = {"chat_id": chat_id, "count": count, "timeout": timeout}
        if contains is not None:
            params["contains"] = contains
        result: dict[str, Any] = self.query("wait_message", **params)
        return result

    def fail_next(
        self, n: int = 1, status: int = 429, retry_after: int = 1, methods: list[str] | None = None
    ) -> None:
        """Inject failures for the next ``n`` calls."""
        self.action("fail_next", n=n, status=status, retry_after=retry_after, methods=methods)

    def block_user(self, user_id: int) -> None:
        """The user blocks the bot."""
        self.action("block_user", user_id=user_id)

    def stats(self) -> dict[str, Any]:
        """Duplicates, rate violations, call counts, pending updates."""
        result: dict[str, Any] = self.query("stats")
        return result
