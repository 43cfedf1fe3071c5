"""Receive updates and persist them in the inbox before Telegram considers them delivered.

Polling advances the ``getUpdates`` offset only after the batch is committed (the next call confirms
it); the webhook answers 200 only after the commit (500 otherwise, so Telegram redelivers).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from sqlalchemy import Engine
from telegram import Bot
from telegram.error import InvalidToken, RetryAfter

from bot.ptb import GET_UPDATES_TIMEOUT, retry_after_seconds
from bot.supervise import describe
from cases import inbox
from cases.clock import Clock, utcnow
from cases.db import session_scope
from cases.redact import install as install_redaction
from cases.redact import redact

log = logging.getLogger(__name__)

ALLOWED_UPDATES: tuple[str, ...] = (
    "message", "edited_message", "callback_query", "my_chat_member", "chat_member",
)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
INVALID_TOKEN_WAIT = 60.0
"""Seconds between polls while Telegram rejects the token (only a person can fix that)."""


def store_batch(engine: Engine, payloads: Sequence[dict[str, Any]], *, clock: Clock = utcnow) -> int:
    """Persist raw updates in one committed transaction; returns how many were new."""
    with session_scope(engine) as session:
        return inbox.store(session, list(payloads), now=clock())


def webhook_secret(token: str, configured: str | None = None) -> str:
    """The secret token for ``setWebhook``: the configured one, else derived from the bot token.

    Deriving it keeps every bot process behind the same webhook on the same secret.
    """
    if configured:
        return configured
    return hmac.new(token.encode(), b"gridbot-webhook-secret", hashlib.sha256).hexdigest()[:48]


def webhook_path(secret: str) -> str:
    """The URL path the webhook listens on (unguessable, derived from the secret)."""
    return "/telegram/" + hashlib.sha256(b"path:" + secret.encode()).hexdigest()[:24]


class PollingReceiver:
    """Long-polls ``getUpdates`` and stores every update before the next call confirms it."""

    def __init__(
        self,
        bot: Bot,
        engine: Engine,
        *,
        on_stored: Callable[[], None] = lambda: None,
        timeout: int = GET_UPDATES_TIMEOUT,
        limit: int = 100,
        allowed_updates: Sequence[str] = ALLOWED_UPDATES,
        backoff_base: float = 0.5,
        max_backoff: float = 5.0,
        clock: Clock = utcnow,
    ) -> None:
        self.bot, self.engine, self.on_stored, self.clock = bot, engine, on_stored, clock
        install_redaction(bot.token)  # errors carry Bot API URLs, hence the token
        self.backoff_base = backoff_base
        self.timeout, self.limit, self.allowed_updates = timeout, limit, list(allowed_updates)
        self.max_backoff = max_backoff
        self.offset: int | None = None
        self.stored = 0
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to end after the current call (nothing fetched is confirmed unless stored)."""
        self._stopping.set()

    async def fetch(self) -> list[dict[str, Any]]:
        """One ``getUpdates`` call from the current offset, returning the raw update dicts."""
        api_kwargs: dict[str, Any] = {
            "timeout": self.timeout, "limit": self.limit, "allowed_updates": self.allowed_updates,
        }
        if self.offset is not None:
            api_kwargs["offset"] = self.offset
        result = await self.bot.do_api_request(
            "getUpdates", api_kwargs=api_kwargs, read_timeout=self.timeout + 10.0,
        )
        return [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []

    async def poll_once(self) -> int:
        """Fetch one batch, commit it to the inbox, then advance the offset; returns updates fetched."""
        return await self._commit(await self.fetch())

    async def _commit(self, updates: list[dict[str, Any]]) -> int:
        if not updates:
            return 0
        self.stored += await asyncio.to_thread(store_batch, self.engine, updates, clock=self.clock)
        self.offset = max(int(u["update_id"]) for u in updates) + 1
        self.on_stored()
        return len(updates)

    async def run(self) -> None:
        """Delete any webhook, then poll until :meth:`stop`; errors back off and retry."""
        failures = 0
        webhook_deleted = False
        while not self._stopping.is_set():
            try:
                if not webhook_deleted:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    webhook_deleted = True
                updates = await self._fetch_unless_stopped()
                if updates is None:
                    break
                await self._commit(updates)  # never abandoned half-way: a stop waits for the commit
                failures = 0
            except RetryAfter as exc:
                await self._sleep(retry_after_seconds(exc))
            except InvalidToken:
                log.error("Telegram rejected the bot token; polling again in %.0fs", INVALID_TOKEN_WAIT)
                await self._sleep(INVALID_TOKEN_WAIT)
            except Exception as exc:  # network errors, 5xx, Conflict, database errors: all retried
                failures += 1  # reset by the next success: once the API answers, polling resumes within seconds
                delay = self.retry_delay(failures)
                log.warning("polling failed (%s); retrying in %.1fs",
                            describe(exc, redact), delay)
                await self._sleep(delay)

    def retry_delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed polls in a row: doubling, never above ``max_backoff``."""
        return min(self.max_backoff, self.backoff_base * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0)

    async def _fetch_unless_stopped(self) -> list[dict[str, Any]] | None:
        """The next batch, or None when stopped first (the abandoned batch stays unconfirmed)."""
        fetch = asyncio.ensure_future(self.fetch())
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not fetch.done():
                fetch.cancel()
        if not fetch.done() or fetch.cancelled():
            return None
        return fetch.result()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


class WebhookReceiver:
    """An aiohttp server taking Telegram's POSTs: check the secret, commit to the inbox, then 200."""

    def __init__(
        self,
        engine: Engine,
        *,
        secret: str,
        path: str | None = None,
        on_stored: Callable[[], None] = lambda: None,
        clock: Clock = utcnow,
    ) -> None:
        self.engine, self.secret, self.on_stored, self.clock = engine, secret, on_stored, clock
        self.path = path or webhook_path(secret)
        self.stored = 0
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        """The aiohttp application (one POST route on :attr:`path`, plus ``GET /healthz``)."""
        application = web.Application(client_max_size=4 * 1024 * 1024)
        application.router.add_post(self.path, self._handle)
        application.router.add_get("/healthz", self._health)
        return application

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            payload = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="bad json")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            self.stored += await asyncio.to_thread(store_batch, self.engine, [payload], clock=self.clock)
        except Exception:
            log.exception("could not store update %s; Telegram will redeliver", payload.get("update_id"))
            return web.Response(status=500, text="not stored")
        self.on_stored()
        return web.Response(text="ok")

    async def start(self, listen: str, port: int) -> None:
        """Serve on ``listen:port`` (port 0 picks a free one, see :attr:`port`)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, listen, port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        """Stop accepting requests (requests being stored finish first)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def set_webhook(bot: Bot, public_url: str, secret: str, *, path: str | None = None,
                      allowed_updates: Sequence[str] = ALLOWED_UPDATES) -> str:
    """Point Telegram at ``public_url`` + the secret path; returns the full URL registered."""
    url = public_url.rstrip("/") + (path or webhook_path(secret))
    await bot.set_webhook(url=url, secret_token=secret, allowed_updates=list(allowed_updates),
                          drop_pending_updates=False)
    return url
