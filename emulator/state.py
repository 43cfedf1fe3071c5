"""The whole state of the Bot API emulator and its Python control API, assembled from its parts.

Each part lives in its own module and extends :class:`~emulator.world.World` (users, chats, messages,
transcript, call log): :mod:`emulator.users` (what users do), :mod:`emulator.callbacks` (button presses),
:mod:`emulator.updates` (update queue, getUpdates and webhook), :mod:`emulator.files`,
:mod:`emulator.bot_api` (the methods the bot calls), :mod:`emulator.rates` (flood control and duplicates)
and :mod:`emulator.faults` (injected errors and delays). All public methods are thread-safe (one
re-entrant lock), so tests may drive an emulator whose server runs in another thread or event loop.
"""

from __future__ import annotations

from dataclasses import asdict

from emulator.bot_api import BotApiMethods
from emulator.callbacks import CallbackQueries
from emulator.errors import JSON
from emulator.faults import FaultInjection
from emulator.users import UserActions
from emulator.world import DEFAULT_TOKEN, World


class EmulatorState(UserActions, CallbackQueries, BotApiMethods, FaultInjection):
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
        World.__init__(self, token, bot_username=bot_username, bot_name=bot_name)
        self._init_updates(webhook_retry_delay)
        self._init_files()
        self._init_sends(strict_rate_limits)
        self._init_faults()
        self._init_callbacks()
        self._init_user_actions()
        self._init_bot_api()

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
