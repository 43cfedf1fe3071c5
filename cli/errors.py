"""One place that turns what goes wrong under any command into one line and a documented exit code
(:mod:`cli.common`): no operator sees a traceback. ``GRIDBOT_DEBUG=1`` prints it too (tokens masked).

Also gives every command the ``--rules FILE`` and ``--database URL`` options (see the search order in
:mod:`cli.common`), wherever they stand on the command line, so a command does not declare them itself.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import typer
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
from typer.core import TyperGroup

from cases import redact
from cli import common, texts

SHARED = {"--rules": "rules", "--database": "database_url", "--lang": "lang"}
SHARED_HELP = ("Every command also takes --rules FILE (default: GRIDBOT_RULES, then ./routing_rules.yaml), "
               "--database URL (default: GRIDBOT_DATABASE_URL, then sqlite:///gridbot.db) and --lang zh|en "
               "(default: GRIDBOT_LANG, then the locale).")


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line (in the command's language) for an error no command handled itself."""
    lang = common.lang()

    def say(key: str, **values: object) -> str:
        return texts.t(key, lang, **values)

    if isinstance(exc, ValidationError):
        return common.EXIT_CONFIG, "; ".join(
            say("err_setting", variable=f"GRIDBOT_{'_'.join(str(p) for p in error['loc']).upper()}",
                reason=error["msg"]) for error in exc.errors())
    if isinstance(exc, NoSuchModuleError | ModuleNotFoundError) and "dialect" in str(exc).lower() + repr(exc):
        return common.EXIT_CONFIG, say("err_dialect", reason=exc)
    if isinstance(exc, ArgumentError):
        return common.EXIT_CONFIG, say("err_url", reason=exc)
    if isinstance(exc, OperationalError | InterfaceError):
        text = str(exc.orig or exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        return common.EXIT_UNREACHABLE, say("err_unreachable", database=_database(lang), reason=reason)
    if isinstance(exc, PermissionError):
        return common.EXIT_CONFIG, say("err_permission", path=exc.filename or exc)
    if isinstance(exc, NotADirectoryError):
        return common.EXIT_CONFIG, say("err_not_a_folder", path=exc.filename)
    if isinstance(exc, FileNotFoundError):
        where = os.path.dirname(os.path.abspath(exc.filename)) if exc.filename else ""
        return common.EXIT_CONFIG, (say("err_no_such_file", path=exc.filename) +
                                    (say("err_no_such_folder", folder=where) if where and not os.path.isdir(where)
                                     else ""))
    if isinstance(exc, IsADirectoryError):
        return common.EXIT_CONFIG, say("err_is_folder", path=exc.filename)
    if isinstance(exc, OSError):
        return common.EXIT_CONFIG, say("err_os", path=exc.filename or say("err_file_system"),
                                       reason=exc.strerror or exc)
    return common.EXIT_INTERNAL, say("err_internal", kind=type(exc).__name__, reason=exc)


def _database(lang: str) -> str:
    try:
        return common.shown(common.settings().database_url)
    except Exception:
        return texts.t("err_see_database_setting", lang)


def split_shared_options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """``args`` without the shared ``--rules``/``--database`` options (wherever they stand, before ``--``),
    and their values."""
    rest: list[str] = []
    found: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        flag, eq, value = arg.partition("=")
        if flag in SHARED and (eq or i + 1 < len(args)):
            found[SHARED[flag]] = value if eq else args[i + 1]
            i += 1 if eq else 2
            continue
        rest.append(arg)
        i += 1
    return rest, found


class GridbotGroup(TyperGroup):
    """The root ``gridbot`` group: the shared options on every command, and errors mapped to one line."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Take the shared options out wherever they stand; the command itself never sees them."""
        rest, ctx.meta[_OPTIONS] = split_shared_options(list(args))
        result: list[str] = super().parse_args(ctx, rest)
        return result

    def invoke(self, ctx: Any) -> Any:
        """Run the command; an exception it did not handle becomes one line on stderr and an exit code."""
        with common.invocation(ctx.meta.get(_OPTIONS, {})):
            try:
                redact.install(common.settings().token)
                return super().invoke(ctx)
            except (typer.Exit, typer.Abort, KeyboardInterrupt):
                raise
            except Exception as exc:
                if type(exc).__module__.startswith(("click", "typer")):
                    raise  # click's own (usage errors, exits): typer shows them
                code, line = (exc.exit_code, str(exc)) if isinstance(exc, common.ConfigError) else describe(exc)
                if os.environ.get("GRIDBOT_DEBUG"):
                    typer.echo(redact.redact(traceback.format_exc()), err=True)
                typer.echo(redact.redact(common.mask_url(f"gridbot: {line}")), err=True)
                raise typer.Exit(code) from None


_OPTIONS = "gridbot.options"
