"""What the web app needs: the database, the rules, the bot context (notices are rendered into the same
outbox as the bot's), the signing secret and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from bot.context import BotContext
from cases.clock import Clock, utcnow
from cases.rules.schema import Rules
from cases.settings import Settings

SESSION_HOURS = 12


class NoSecret(ValueError):
    """Neither GRIDBOT_WEB_SECRET, GRIDBOT_WEBHOOK_SECRET nor GRIDBOT_TOKEN is set."""


def web_secret(settings: Settings) -> str:
    """The key that signs login links and session cookies (the same in the bot, the CLI and the server)."""
    secret = settings.web_secret or settings.webhook_secret or settings.token
    if not secret:
        raise NoSecret("set GRIDBOT_WEB_SECRET (or GRIDBOT_TOKEN) so login links can be signed")
    return secret


def login_url(settings: Settings, credential: str) -> str:
    """The link that redeems ``credential`` on the console at ``settings.web_url``."""
    return f"{settings.web_url.rstrip('/')}/login/{credential}"


@dataclass
class WebConfig:
    """Everything the request handlers share; built once per process."""

    engine: Engine
    rules: Rules
    ctx: BotContext
    secret: str
    clock: Clock = field(default=utcnow)
    photos: Any = None  # a web.photos.PhotoCache when the bot's token is known
