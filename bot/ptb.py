"""Build the python-telegram-bot ``ExtBot`` the receiver and the sender share."""

from __future__ import annotations

import warnings
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.transport import AiohttpRequest
from cases.settings import Settings

# The sender replays stored Bot API payloads through ``do_api_request`` on purpose (plain JSON in the
# outbox), so PTB's hint to use the typed method instead is noise.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

GET_UPDATES_TIMEOUT = 30
"""Long-polling timeout in seconds that ``getUpdates`` asks Telegram for."""


def file_base_url(api_base_url: str) -> str:
    """The file download base matching ``api_base_url`` (``.../bot`` becomes ``.../file/bot``)."""
    head, sep, tail = api_base_url.rstrip("/").rpartition("/")
    if sep and tail.startswith("bot"):
        return f"{head}/file/{tail}"
    return api_base_url.rstrip("/") + "/file/bot"


def make_bot(settings: Settings, *, max_retries: int = 0, pool_size: int = 64) -> ExtBot[Any]:
    """An uninitialised ``ExtBot`` for ``settings``: base URL, transport, sane timeouts and a rate limiter.

    The rate limiter is a backstop (30 msg/s overall, 20/min per group); the outbox does durable
    retries, so ``max_retries`` stays 0 and a ``RetryAfter`` reaches the sender.
    """
    if not settings.token:
        raise ValueError("GRIDBOT_TOKEN is not set")
    transport = AiohttpRequest if settings.http_client == "aiohttp" else HTTPXRequest
    request: BaseRequest = transport(
        connection_pool_size=pool_size,
        connect_timeout=5.0,
        read_timeout=10.0,
        write_timeout=10.0,
        pool_timeout=5.0,
        media_write_timeout=30.0,
    )
    updates_request: BaseRequest = transport(
        connection_pool_size=2,
        connect_timeout=5.0,
        read_timeout=GET_UPDATES_TIMEOUT + 10.0,
        write_timeout=10.0,
        pool_timeout=5.0,
    )
    limiter = AIORateLimiter(
        overall_max_rate=settings.outbox_global_per_second,
        overall_time_period=1,
        group_max_rate=settings.outbox_group_per_minute,
        group_time_period=60,
        max_retries=max_retries,
    )
    return ExtBot(
        token=settings.token,
        base_url=settings.api_base_url,
        base_file_url=file_base_url(settings.api_base_url),
        request=request,
        get_updates_request=updates_request,
        rate_limiter=limiter,
    )


def retry_after_seconds(exc: RetryAfter) -> float:
    """``exc.retry_after`` in seconds, whichever type this PTB version returns."""
    value = getattr(exc, "_retry_after", None)  # a timedelta in PTB 22, without the deprecation warning
    if not isinstance(value, timedelta):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
