"""Serving the console with uvicorn: on its own (``gridbot web``) or inside the bot's event loop
(``gridbot run --web PORT``), where the bot's runtime keeps the signal handling and stops both."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine

from bot.context import BotContext
from cases.clock import Clock, utcnow
from cases.rules.schema import Rules
from cases.settings import Settings
from web.app import create_app
from web.config import WebConfig, web_secret
from web.photos import PhotoCache

log = logging.getLogger(__name__)


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to its host (the bot's runtime)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Install nothing: the host stops the server with ``should_exit``."""
        yield


def web_config(settings: Settings, engine: Engine, rules: Rules, *, ctx: BotContext | None = None,
               clock: Clock = utcnow) -> WebConfig:
    """The web app's configuration; the bot context signs buttons the way the bot does."""
    if ctx is None:
        ctx = BotContext.create(rules, secret=settings.webhook_secret or settings.token or web_secret(settings))
    photos = PhotoCache(Path(settings.web_cache), settings.api_base_url, settings.token) if settings.token else None
    return WebConfig(engine=engine, rules=rules, ctx=ctx, secret=web_secret(settings), clock=clock, photos=photos)


def server(config: WebConfig, host: str, port: int, *, embedded: bool = False) -> uvicorn.Server:
    """A uvicorn server for the console on ``host:port``."""
    uv = uvicorn.Config(create_app(config), host=host, port=port, log_level="warning", access_log=False,
                        lifespan="off")
    return EmbeddedServer(uv) if embedded else uvicorn.Server(uv)


async def run_bot_with_web(runtime: Any, web: uvicorn.Server) -> None:
    """Serve the console beside the bot's runtime. The runtime's own serving loop keeps the signal handling
    (a stop in any phase) and the task supervision (a dead task ends the process with :class:`TaskDied`); the
    console stops with it."""
    web_task = asyncio.create_task(web.serve(), name="gridbot-web")
    log.info("the console serves on port %s", web.config.port)
    try:
        await runtime.serve()
    finally:
        web.should_exit = True
        with contextlib.suppress(Exception):
            await web_task
