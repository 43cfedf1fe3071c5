"""Shared by every CLI command: where the settings come from, which rules file and database are used (said
once on stderr, password masked), and the exit codes.

Search order, first found wins (documented in the README, "Running it for real"):

* a setting: the command's option (``--rules``, ``--database``) > the environment variable (``GRIDBOT_…``)
  > ``.env`` in the current folder > ``/etc/gridbot/gridbot.env`` > the built-in default;
* the rules file, when none of those names one: ``./routing_rules.yaml`` > the sample bundled with Gridbot
  (with a note saying so).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NoReturn

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cases.db import normalize_url
from cases.i18n import lang_of_locale
from cases.settings import Settings
from cli import texts

EXIT_OK = 0
EXIT_PROBLEM = 1
"""The command ran and found something an operator must look at (``status --check``), or refused its input."""
EXIT_CONFIG = 2
"""Usage or configuration: a bad option, the token missing or rejected, a malformed or unsupported database URL,
no rules file, a database not created or behind the migrations, an output path that cannot be written."""
EXIT_UNREACHABLE = 3
"""The database cannot be reached (it may be down for a moment: try again)."""
EXIT_INTERNAL = 70
"""A fault in Gridbot itself (the one line says what; ``GRIDBOT_DEBUG=1`` shows the traceback)."""

ENV_FILES = ("/etc/gridbot/gridbot.env", ".env")
"""``.env`` files read, the later winning over the earlier (an environment variable wins over both)."""
SUPPORTED_DATABASES = ("sqlite", "postgresql")
BUNDLED_RULES = (Path(__file__).resolve().parent.parent / "cases" / "sample" / "routing_rules.yaml",)
"""The sample rules shipped inside the package (``cases/sample``: a link to the checkout's ``routing_rules.yaml``,
copied into the wheel as package data)."""



class ConfigError(Exception):
    """A configuration mistake the operator fixes: one line (the message), exit code 2."""

    exit_code = EXIT_CONFIG


def fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    """Print ``gridbot: message`` on stderr and exit with ``code``."""
    typer.echo(f"gridbot: {message}", err=True)
    raise typer.Exit(code)


_INVOCATION: ContextVar[dict[str, Any] | None] = ContextVar("gridbot_invocation", default=None)


@contextmanager
def invocation(options: dict[str, str]) -> Iterator[None]:
    """The scope of one command: its ``--rules`` / ``--database`` / ``--lang`` options, and what it has said already."""
    token = _INVOCATION.set({"options": dict(options), "said": set()})
    try:
        yield
    finally:
        _INVOCATION.reset(token)


def _state() -> dict[str, Any]:
    return _INVOCATION.get() or {"options": {}, "said": set()}


def _options() -> dict[str, str]:
    """The ``--rules`` / ``--database`` given to this command (none outside :func:`invocation`)."""
    options: dict[str, str] = _state()["options"]
    return options


def settings() -> Settings:
    """Settings by the search order above (options, environment, ``.env``, ``/etc/gridbot/gridbot.env``)."""
    overrides: dict[str, Any] = dict(_options())
    return Settings(_env_file=ENV_FILES, **overrides)


def lang() -> str:
    """The language of what this command prints for people: ``--lang`` > ``GRIDBOT_LANG`` (environment,
    ``.env``) > the locale (``LANG`` starting with ``zh``: Chinese) > English."""
    try:
        chosen = settings().lang
    except ValueError:  # a bad setting is reported by the command that reads it; speak English meanwhile
        chosen = None
    return chosen or lang_of_locale(os.environ)


def explicit_lang() -> str | None:
    """The ``--lang`` given on the command line, if any (for outputs whose language is data, not words)."""
    return _options().get("lang")


def _origin(field: str) -> str:
    """Where a setting came from, for the "using" line (in the command's language)."""
    lang_ = lang()
    if field in _options():
        return texts.t("origin_option", lang_, option="--rules" if field == "rules" else "--database")
    variable = f"GRIDBOT_{field.upper()}"
    if variable in os.environ:
        return texts.t("origin_variable", lang_, variable=variable)
    for name in reversed(ENV_FILES):
        path = Path(name)
        try:
            if path.is_file() and re.search(rf"^\s*(export\s+)?{variable}\s*=", path.read_text(encoding="utf-8"),
                                            re.MULTILINE | re.IGNORECASE):
                return texts.t("origin_env_file", lang_, variable=variable, path=path.resolve())
        except (OSError, UnicodeDecodeError):
            continue
    return texts.t("origin_default", lang_)


def rules_path(explicit: str | None = None) -> tuple[str, str]:
    """(the rules file to use, where that choice came from). A file named by an option or a setting is used
    as given (even if missing, so the error names it); otherwise ``./routing_rules.yaml``, else the bundled
    sample."""
    if explicit:
        return explicit, texts.t("origin_command_line", lang())
    config = settings()
    if "rules" in config.model_fields_set:
        return config.rules, _origin("rules")
    if Path(config.rules).is_file():
        return config.rules, texts.t("origin_current_folder", lang())
    for sample in BUNDLED_RULES:
        if sample.is_file():
            return str(sample), texts.t("origin_bundled", lang())
    return config.rules, texts.t("origin_default", lang())


def rules_not_found(path: str, origin: str) -> str:
    """The one line for a rules file that is not there: the path tried, where it came from, how to set it."""
    return texts.t("rules_not_found", lang(), path=Path(path).absolute(), origin=origin)


def database_url(explicit: str | None = None) -> str:
    """The database URL to use (an explicit one first), checked: well-formed and a database Gridbot supports."""
    url = explicit or settings().database_url
    check_url(url)
    return url


def check_url(url: str) -> None:
    """Raise :class:`ConfigError` for a malformed URL or a database other than SQLite and PostgreSQL."""
    try:
        backend = make_url(normalize_url(url)).get_backend_name()
    except ArgumentError:
        raise ConfigError(texts.t("url_malformed", lang(), url=repr(mask_url(url)))) from None
    if backend not in SUPPORTED_DATABASES:
        raise ConfigError(texts.t("url_unsupported", lang(), backend=repr(backend), url=shown(url)))


def shown(url: str) -> str:
    """A database URL with its password hidden (also when the URL does not parse)."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return mask_url(url)


def mask_url(text: str) -> str:
    """Hide the password of any ``scheme://user:password@`` in ``text``."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)


def say_using(what: str, value: str, origin: str) -> None:
    """Tell the operator, once per invocation and on stderr, which rules file (``what`` "rules") or database
    ("database") is used."""
    said: set[str] = _state()["said"]
    if what not in said:
        said.add(what)
        typer.echo(texts.t(f"using_{what}", lang(), value=value, origin=origin), err=True)


def say_database(url: str) -> None:
    """The "using" line for the database."""
    say_using("database", shown(url), _origin("database_url"))
