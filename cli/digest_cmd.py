"""``gridbot digest`` (preview a supervisor's digest) and ``gridbot sweep`` (run or dry-run the deadline sweep)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cases.clock import as_utc, utcnow
from cases.db import read_scope, session_scope
from cases.digest import build_digest
from cases.notify import RecordingNotifier
from cases.settings import Settings
from cli import common, texts
from cli.db_cmd import open_database, open_rules

if TYPE_CHECKING:
    from bot.notifier import TelegramNotifier


class Format(StrEnum):
    """Digest output formats."""

    TEXT = "text"
    JSON = "json"
    PNG = "png"


class Lang(StrEnum):
    """Digest languages."""

    ZH = "zh"
    EN = "en"


def _now(value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date-time such as 2025-03-06T08:30+08:00") from None


def digest(
    area: str = typer.Option(..., "--area", help="area id from the rules file (grid, community, street or district)"),
    day: str | None = typer.Option(None, "--date", help="local day reported on, YYYY-MM-DD (default: yesterday)"),
    fmt: Format = typer.Option(Format.TEXT, "--format", help="text, json or png"),
    lang_option: Lang | None = typer.Option(None, "--lang", help="language of the digest (text and chart); "
                                            "default: GRIDBOT_LANG, then the locale"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write to this file instead of stdout"),
    now_text: str | None = typer.Option(None, "--now", help="pretend it is this moment (ISO), for previews"),
) -> None:
    """Preview the digest of an area: figures, grid statuses, overdue tickets, trend."""
    lang = lang_option.value if lang_option is not None else common.lang()
    rules = open_rules()
    if area not in rules.areas:
        typer.echo(texts.t("digest_unknown_area", lang, area=repr(area), areas=", ".join(rules.areas)), err=True)
        raise typer.Exit(1)
    now = _now(now_text)
    try:
        report_day = date.fromisoformat(day) if day else now.astimezone(rules.zone).date() - timedelta(days=1)
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a date; write YYYY-MM-DD", param_hint="--date") from None
    engine = open_database()
    try:
        with read_scope(engine) as session:  # only reads: the bot's writes go on meanwhile
            result = build_digest(session, rules=rules, area=area, day=report_day, now=now)
    finally:
        engine.dispose()
    if fmt is Format.PNG:
        from cases.digest_chart import render_digest_chart

        png = render_digest_chart(result, rules, lang)
        if output is not None:
            output.write_bytes(png)
        elif sys.stdout.isatty():
            typer.echo(texts.t("digest_png_terminal", lang), err=True)
            raise typer.Exit(1)
        else:
            sys.stdout.buffer.write(png)
        return
    if fmt is Format.JSON:
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    else:
        from cases.digest_render import render_digest_text

        text = "\n\n".join(render_digest_text(result, rules, lang))
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        typer.echo(text)


def _bot_notifier(settings: Settings, rules: object) -> TelegramNotifier:
    """The bot's notifier (writes outbox rows the bot delivers); it needs the token to sign buttons."""
    if not settings.token:
        typer.echo(texts.t("sweep_needs_token", common.lang()), err=True)
        raise typer.Exit(1)
    from bot.context import BotContext
    from bot.notifier import TelegramNotifier

    ctx = BotContext.create(rules, secret=settings.webhook_secret or settings.token)  # type: ignore[arg-type]
    return TelegramNotifier(ctx)


def sweep(
    dry_run: bool = typer.Option(False, "--dry-run", help="only show what is due; change and send nothing"),
    no_digests: bool = typer.Option(False, "--no-digests", help="leave the daily digests out"),
    now_text: str | None = typer.Option(None, "--now", help="pretend it is this moment (ISO)"),
) -> None:
    """Run the deadline sweep now (reminders, warnings, escalations, auto-close, digests)."""
    from cases.sweep import run_sweep, sweep_then_send_digests

    settings = common.settings()
    rules = open_rules()
    now = _now(now_text)
    notifier = RecordingNotifier() if dry_run else _bot_notifier(settings, rules)
    engine = open_database()
    try:
        if isinstance(notifier, RecordingNotifier) or no_digests:
            with session_scope(engine) as session:
                report = run_sweep(session, rules=rules, notifier=notifier, now=now, dry_run=dry_run,
                                   digests=not no_digests)
                if dry_run:
                    session.rollback()
        else:  # as the running bot does (one may be running beside us): the write lock is held briefly
            report = sweep_then_send_digests(engine, rules=rules, notifier=notifier, now=now,
                                             prepare=notifier.prepare_digests)
    finally:
        engine.dispose()
    for line in report.lines(common.lang()):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add ``digest`` and ``sweep`` to ``app``."""
    app.command("digest")(digest)
    app.command("sweep")(sweep)
