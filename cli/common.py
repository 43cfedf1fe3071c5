"""Shared helpers for CLI commands: settings, rules and database opened the same way everywhere."""

from __future__ import annotations

from cases.settings import Settings


def settings() -> Settings:
    """Settings from the environment and ``.env``."""
    return Settings()
