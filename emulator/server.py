"""The emulator's HTTP side: the Bot API under ``/bot<token>/<method>``, file downloads, webhook delivery.

Two runtime forms share :class:`EmulatorState`'s control API: :class:`BotApiEmulator` runs in the current
event loop (``async with``), :class:`EmulatorThread` runs in a background thread with its own loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import time
from collections.abc import Coroutine
from contextlib import suppress
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from emulator.control import add_control_routes
from emulator.errors import JSON, ApiError
from emulator.state import EmulatorState
from emulator.world import DEFAULT_TOKEN

T = TypeVar("T")

#: Parameters Telegram reads as JSON objects/arrays (PTB form-encodes them as JSON strings).
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "allowed_updates",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)
_INT_PARAMS = frozenset(
    {
        "offset",
        "limit",
        "timeout",
        "message_id",
        "max_connections",
        "reply_to_message_id",
        "cache_time",
        "message_thread_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
    }
)
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


def _coerce(name: str, value: Any) -> Any:
    """Turn a form/query string into the type Telegram would parse it as."""
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        with suppress(ValueError):
            return json.loads(value)
    elif name in _INT_PARAMS or name == "chat_id":
        with suppress(ValueError):
            return int(value)
    elif name in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, tuple[str, bytes]]]:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    params: JSON = {k: _coerce(k, v) for k, v in request.query.items()}
    files: dict[str, tuple[str, bytes]] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: can't parse JSON")
            params.update({key: _coerce(key, value) for key, value in body.items()})
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = _coerce(key, str(value))
    return params, files


def _answer(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _fail(err: ApiError) -> web.Response:
    return web.json_response(err.to_json(), status=err.status)


class EmulatorServer:
    """An aiohttp server exposing one :class:`EmulatorState` over the Bot API and ``/_emu`` control."""

    def __init__(self, state: EmulatorState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._poll_generation = 0
        self._stopping = False

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: ``http://host:port/bot`` (PTB appends ``<token>/<method>``)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        """PTB's ``base_file_url``."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def control_url(self) -> str:
        """Root of the HTTP control endpoints."""
        return f"http://{self.host}:{self.port}/_emu"

    def make_app(self) -> web.Application:
        """The aiohttp application (uploads up to 50 MB like Telegram)."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        add_control_routes(app, self.state)
        return app

    async def start(self) -> None:
        """Bind and serve; picks a free port when ``port`` is 0."""
        self._runner = web.AppRunner(self.make_app(), handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._stopping = False
        self._webhook_task = asyncio.create_task(self._webhook_loop())

    async def stop(self) -> None:
        """Stop serving and delivering."""
        self._stopping = True
        self.state.signal.notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _api(self, request: web.Request) -> web.Response:
        state = self.state
        method = request.match_info["method"]
        if request.match_info["token"] != state.token:
            state.record_call(method, {}, 401, "Unauthorized")
            return _fail(ApiError(401, "Unauthorized"))
        params: JSON = {}
        body_type = request.content_type if request.can_read_body else ""
        try:
            params, files = await _read_params(request)
            delay = state.delay_for(method)
            if delay:
                await asyncio.sleep(delay)
            fault = state.take_fault(method)
            if fault is not None and not fault.apply:
                raise fault.error()
            if method.lower() == "getupdates":
                result = await self._get_updates(params)
            else:
                result = state.call(method, params, files)
            if fault is not None:
                raise fault.error()
        except ApiError as err:
            state.record_call(method, _loggable(params), err.status, err.description, content_type=body_type)
            return _fail(err)
        state.record_call(method, _loggable(params), 200, content_type=body_type)
        return _answer(result)

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Long polling with Telegram's semantics; a newer poll ends an older one with 409."""
        self._poll_generation += 1
        generation = self._poll_generation
        offset = params.get("offset")
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + max(0.0, float(params.get("timeout") or 0))
        offset = None if offset in (None, "") else int(offset)
        while True:
            version = self.state.signal.version
            if generation != self._poll_generation:
                raise ApiError(409, _CONFLICT)
            updates = self.state.take_updates(offset, limit)
            remaining = deadline - time.monotonic()
            if updates or remaining <= 0 or self._stopping:
                return updates
            offset = None if offset is not None and offset < 0 else offset
            await self.state.signal.wait(version, remaining)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.state.token:
            return _fail(ApiError(401, "Unauthorized"))
        f = self.state.file_by_path(request.match_info["path"])
        if f is None:
            return _fail(ApiError(404, "Not Found"))
        return web.Response(body=f.data, content_type=f.mime_type or "application/octet-stream")

    async def _webhook_loop(self) -> None:
        """Deliver pending updates in order to the webhook; retry until the bot answers 200."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            while not self._stopping:
                version = self.state.signal.version
                item = self.state.next_webhook_update()
                if item is None:
                    await self.state.signal.wait(version, 1.0)
                    continue
                hook, update = item
                headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
                try:
                    async with session.post(hook.url, json=update, headers=headers) as resp:
                        await resp.read()
                        status, error = resp.status, None
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, error = 0, f"Connection failed: {exc!r}"
                self.state.webhook_result(update["update_id"], status, error)
                if status != 200:
                    await asyncio.sleep(self.state.webhook_retry_delay)


def _loggable(params: JSON) -> JSON:
    """Parameters safe to keep in the call log."""
    return {k: v for k, v in params.items() if isinstance(v, str | int | float | bool | list | dict | None)}


class _ServedEmulator(EmulatorState):
    """Emulator state with its HTTP server and the URLs a bot and a test need."""

    def __init__(
        self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0, **kw: Any
    ) -> None:
        super().__init__(token, **kw)
        self.server = EmulatorServer(self, host, port)

    @property
    def base_url(self) -> str:
        """PTB ``base_url``."""
        return self.server.base_url

    @property
    def file_base_url(self) -> str:
        """PTB ``base_file_url``."""
        return self.server.file_base_url

    @property
    def control_url(self) -> str:
        """Root of the ``/_emu`` control endpoints."""
        return self.server.control_url


class BotApiEmulator(_ServedEmulator):
    """The emulator in the current event loop: ``async with BotApiEmulator(token=...) as emu:``."""

    async def start(self) -> None:
        """Start serving."""
        await self.server.start()

    async def stop(self) -> None:
        """Stop serving."""
        await self.server.stop()

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


class EmulatorThread(_ServedEmulator):
    """The emulator in a background thread with its own loop; control methods are thread-safe.

    Use ``with EmulatorThread(token=...) as emu:`` from sync tests, or when the bot runs elsewhere.
    """

    def __init__(
        self, token: str = DEFAULT_TOKEN, *, host: str = "127.0.0.1", port: int = 0, **kw: Any
    ) -> None:
        super().__init__(token, host=host, port=port, **kw)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and return once the server listens."""
        self._thread = threading.Thread(target=self._run, name="bot-api-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("emulator thread did not start")
        if self._error is not None:
            raise RuntimeError("emulator failed to start") from self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.server.start())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
            loop.run_until_complete(self.server.stop())
        finally:
            loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the emulator's own loop (e.g. :meth:`send_texts_paced`)."""
        if self._loop is None:
            raise RuntimeError("the emulator thread is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and join the thread."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> EmulatorThread:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
