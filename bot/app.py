"""Compose one Gridbot process: settings → database → rules → handlers → runtime with its jobs."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from telegram import User

from bot.context import BotContext
from bot.handlers import handle_update, on_give_up
from bot.notifier import TelegramNotifier
from bot.runtime import Job, JobFn, Runtime
from cases.clock import Clock, utcnow
from cases.db import make_engine, read_scope, session_scope, upgrade
from cases.figures import ensure as ensure_figures
from cases.holiday_calendar import check_calendar_at
from cases.retention import prune
from cases.routing.examples import ExampleError
from cases.routing.model import RoutingModel
from cases.routing.model_store import current_model, retrain_if_changed
from cases.rules.loader import load_rules
from cases.rules.schema import Rules
from cases.services.learning import local_examples
from cases.settings import Settings
from cases.sweep import sweep_then_send_digests

log = logging.getLogger(__name__)


@dataclass
class App:
    """The pieces of a running bot, for the CLI, the demo and tests."""

    settings: Settings
    engine: Engine
    rules: Rules
    ctx: BotContext
    notifier: TelegramNotifier
    runtime: Runtime


def sweep_job(rules: Rules, notifier: TelegramNotifier) -> JobFn:
    """The periodic deadline sweep (escalations, reminders, auto-close), then the due digests with their
    charts drawn outside the write lock (:func:`cases.sweep.sweep_then_send_digests`)."""

    def job(engine: Engine, now: datetime) -> object:
        return sweep_then_send_digests(engine, rules=rules, notifier=notifier, now=now,
                                       prepare=notifier.prepare_digests)

    return job


RETENTION_SECONDS = 3600.0
"""How often old inbox updates and delivered outbox rows are pruned."""
RETENTION_BATCHES = 100
"""Batches (of 1,000 rows) one run prunes at most: a first run over years of rows spreads over hours
instead of holding up the bot's shutdown."""


def retention_job(keep: timedelta) -> JobFn:
    """Delete processed updates and delivered messages older than ``keep`` (:mod:`cases.retention`)."""

    def job(engine: Engine, now: datetime) -> object:
        pruned = prune(engine, now=now, keep=keep, max_batches=RETENTION_BATCHES)
        if pruned.inbox or pruned.outbox:
            log.info("retention: deleted %d inbox updates and %d outbox messages", pruned.inbox, pruned.outbox)
        return pruned

    return job


def _apply_renames(engine: Engine, rules: Rules, now: datetime) -> None:
    """Stored ids the rules renamed (``renamed_from``) move to the new ids before anything else runs."""
    from cases.renames import apply_renames

    with session_scope(engine) as session:
        report = apply_renames(session, rules, now=now)
    if report.rows:
        log.info("rules: %s", report.describe())


ROUTING_RETRAIN_SECONDS = 86400.0
"""The routing classifier is retrained daily (and at start) when staff or residents taught it something new."""


def routing_retrain_job(ctx: BotContext) -> JobFn:
    """Retrain on bundled + local examples when the local ones changed; switch in unless worse on the held-out
    split (:func:`cases.routing.model_store.retrain`, which logs why)."""

    def job(engine: Engine, now: datetime) -> object:
        with read_scope(engine) as session:
            local = local_examples(session, list(ctx.rules.categories))
        if ctx.model is None or not local:
            return None
        result = retrain_if_changed(ctx.rules, local)
        if result is not None and result.switched:
            ctx.model = result.model
        return result

    return job


def load_routing_model(rules: Rules) -> RoutingModel | None:
    """The routing classifier for ``rules`` (trained now if the examples or rules changed); None, with a
    warning, when the examples cannot be read: routing then uses keywords alone."""
    try:
        return current_model(rules)
    except (ExampleError, ValueError) as exc:
        log.warning("routing examples not used, keywords only: %s", exc)
        return None


def build_app(settings: Settings, *, rules: Rules | None = None, engine: Engine | None = None,
              clock: Clock = utcnow, migrate: bool = True, runtime_options: dict[str, Any] | None = None,
              on_ready: Callable[[User], None] | None = None) -> App:
    """Everything a bot process needs, wired; the database is migrated first unless ``migrate`` is false."""
    if not settings.token:
        raise ValueError("GRIDBOT_TOKEN is not set")
    if engine is None:
        engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    rules = rules if rules is not None else load_rules(settings.rules)
    if migrate:
        _apply_renames(engine, rules, clock())
        ensure_figures(engine, rules)  # the digest's day figures in the rules' time zone (once, if they are not)
    calendar = check_calendar_at(rules, clock())
    for line in calendar.problems + calendar.warnings:
        log.warning("rules: %s", line)
    ctx = BotContext.create(rules, secret=settings.webhook_secret or settings.token, model=load_routing_model(rules))
    ctx.console_url = settings.web_url
    ctx.console_secret = settings.web_secret or settings.webhook_secret or settings.token
    notifier = TelegramNotifier(ctx)
    jobs: list[Job] = [("sweep", settings.sweep_seconds, sweep_job(rules, notifier)),
                       ("retention", RETENTION_SECONDS, retention_job(timedelta(days=settings.keep_days))),
                       ("routing_retrain", ROUTING_RETRAIN_SECONDS, routing_retrain_job(ctx))]

    def ready(user: User) -> None:
        ctx.bot_username = user.username or ctx.bot_username
        if on_ready is not None:
            on_ready(user)

    options = {"lease_ttl": settings.lease_seconds, **(runtime_options or {})}
    if engine.dialect.name == "sqlite":
        # One writer at a time anyway: more handler threads would only queue for the write lock.
        options["processor_options"] = {"concurrency": 1, **options.get("processor_options", {})}
    runtime = Runtime(
        settings, engine, rules,
        functools.partial(handle_update, ctx=ctx),
        on_give_up,
        jobs,
        on_ready=ready,
        clock=clock,
        **options,
    )
    return App(settings=settings, engine=engine, rules=rules, ctx=ctx, notifier=notifier, runtime=runtime)
