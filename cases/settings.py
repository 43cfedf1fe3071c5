"""Settings from environment variables (prefix ``GRIDBOT_``) and an optional ``.env`` file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings. Every field can be set as ``GRIDBOT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GRIDBOT_", env_file=".env", extra="ignore")

    token: str | None = Field(None, description="Telegram bot token from @BotFather")
    api_base_url: str = Field(
        "https://api.telegram.org/bot",
        description="Bot API base URL, python-telegram-bot style: <base><token>/<method>",
    )
    database_url: str = "sqlite:///gridbot.db"
    rules: str = "routing_rules.yaml"
    lang: Literal["zh", "en"] | None = Field(
        None, description="language of the command line's output (zh or en); unset: from the locale (LANG)",
    )
    sweep_seconds: float = Field(60.0, gt=0)
    lease_seconds: float = Field(
        30.0, gt=0.5,
        description="the leader lease: renewed every third of it; another process takes over when it runs out",
    )
    webhook_secret: str | None = None
    outbox_global_per_second: float = 30.0
    outbox_private_per_second: float = 1.0
    outbox_group_per_minute: float = 20.0
    keep_days: int = Field(
        90, ge=1,
        description="processed updates and delivered messages are deleted after this many days "
        "(tickets and their history are kept)",
    )
    web_url: str = Field("http://127.0.0.1:8080", description="the console's address, used in login links")
    web_secret: str | None = Field(None, description="signs console login links and sessions (default: token)")
    web_cache: str = Field("gridbot-web-cache", description="directory where the console keeps fetched photos")
    sender_process: bool = Field(
        True,
        description="gridbot run: the leader sends the outbox from a child process (a second core), "
        "with the same limits and guarantees as in the bot's own process",
    )
    http_client: Literal["aiohttp", "httpx"] = Field(
        "aiohttp",
        description="HTTP transport under python-telegram-bot: aiohttp (cheaper per call) or PTB's default httpx",
    )
