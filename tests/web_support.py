"""Shared set-up for the web tests: a world of people and roles, and a console app over it."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session
from test_tickets import World, make_world

from bot.context import BotContext
from cases.rules.schema import Rules
from web.app import create_app
from web.config import WebConfig

SECRET = "test-web-secret"
INSIDE = (29.3544, 113.104)  # lat, lon inside taizimiao-1


def make_config(engine: Engine, rules: Rules, now: datetime) -> WebConfig:
    """A config whose clock is fixed at ``now``."""
    return WebConfig(engine=engine, rules=rules, ctx=BotContext.create(rules, secret=SECRET), secret=SECRET,
                     clock=lambda: now)


def client_for(engine: Engine, rules: Rules, now: datetime) -> TestClient:
    """A test client on a fresh app."""
    return TestClient(create_app(make_config(engine, rules, now)), raise_server_exceptions=False)


def world_in(engine: Engine, rules: Rules, now: datetime) -> World:
    """People and roles, committed."""
    with Session(engine, expire_on_commit=False) as session:
        return make_world(session, rules, now)
