"""What every handler needs besides the session and the update."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bot.callbacks import CallbackCodec
from cases.routing.model import RoutingModel
from cases.rules.schema import Rules


@dataclass
class BotContext:
    """Rules and helpers shared by all handlers of one bot process."""

    rules: Rules
    codec: CallbackCodec
    bot_username: str = "gridbot"
    community_ids: list[str] = field(default_factory=list)
    model: RoutingModel | None = None
    """The routing classifier (built once at start; the nightly retrain may replace it). None: keywords only."""
    console_url: str | None = None  # the web console's address (login links), None when not set up
    console_secret: str | None = None  # signs the console's login links

    @classmethod
    def create(cls, rules: Rules, *, secret: str | bytes, bot_username: str = "gridbot",
               model: RoutingModel | None = None) -> BotContext:
        """Build a context; ``secret`` signs callback data (derive it from the token if nothing else)."""
        key = secret if isinstance(secret, bytes) else secret.encode()
        codec = CallbackCodec(hashlib.sha256(b"gridbot-callback:" + key).digest())
        communities = [a for a, area in rules.areas.items() if area.kind == "community"]
        return cls(rules=rules, codec=codec, bot_username=bot_username, community_ids=communities, model=model)
