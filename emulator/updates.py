"""The queue of updates waiting for the bot, and the two ways it takes them: getUpdates or a webhook.

An update stays queued until confirmed: by a getUpdates ``offset`` past it, or by a 200 from the webhook.
While a webhook is set, getUpdates answers 409 like Telegram.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from emulator.errors import JSON, ApiError, bad_request
from emulator.world import World

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass
class WebhookConfig:
    """The webhook the bot set."""

    url: str
    secret_token: str | None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


def _drops_pending(params: JSON) -> bool:
    return params.get("drop_pending_updates") in (True, "true", "True")


class UpdateQueue(World):
    """Pending updates in order, their creation times, and the webhook with its delivery log."""

    def _init_updates(self, webhook_retry_delay: float) -> None:
        self.webhook_retry_delay = webhook_retry_delay
        self._updates: list[JSON] = []
        self._next_update_id = 100_000
        self.update_times: dict[int, float] = {}
        self.webhook: WebhookConfig | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []

    def _push_update(self, kind: str, payload: JSON) -> JSON:
        with self._lock:
            update = {"update_id": self._next_update_id, kind: payload}
            self.update_times[self._next_update_id] = time.monotonic()
            self._next_update_id += 1
            self._updates.append(update)
        self.signal.notify()
        return update

    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot."""
        with self._lock:
            return list(self._updates)

    def update_times_snapshot(self) -> dict[int, float]:
        """Update id → monotonic time the update was created (a copy)."""
        with self._lock:
            return dict(self.update_times)

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
    def _api_setwebhook(self, params: JSON, files: Any) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._api_deletewebhook(params, files)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if _drops_pending(params):
            self._updates.clear()
        self.webhook = WebhookConfig(
            url, None if secret is None else str(secret), int(params.get("max_connections") or 40)
        )
        return True

    def _api_deletewebhook(self, params: JSON, files: Any) -> bool:
        self.webhook = None
        if _drops_pending(params):
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
