"""Telegram adapter: receives updates into the inbox, runs handlers, delivers the outbox."""
