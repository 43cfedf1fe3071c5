"""Text that every database accepts: PostgreSQL refuses the NUL character in text and JSON, SQLite keeps it.
Whatever a person typed is stored without it (nothing else changes), so a report with a stray NUL still
becomes a ticket on either backend."""

from __future__ import annotations

from typing import Any

NUL = "\x00"


def without_nul(value: Any) -> Any:
    """``value`` with every NUL character removed from its strings (dict keys, lists and nesting included)."""
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value
