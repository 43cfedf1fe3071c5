"""The command line speaks the operator's language: every command takes ``--lang zh|en`` (default
``GRIDBOT_LANG``, then the locale), and the lines meant for people (status, rules check, invite, sweep, db,
digest, the one-line errors, the "using" lines) are Chinese without an English word, or English without a
Chinese character but the names the rules file gives. Run on a seeded database over the bundled district."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from text_checks import check
from typer.testing import CliRunner

from cases.db import make_engine, upgrade
from cases.i18n import lang_of_locale
from cases.rules.loader import load_rules
from cases.seed import seed_month
from cli.main import app

ROOT = Path(__file__).resolve().parent.parent
RULES_FILE = ROOT / "routing_rules.yaml"
END = datetime(2026, 3, 6, 0, 0, tzinfo=UTC)
NOW = "2026-03-06T09:00:00+08:00"
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lang")
    engine = make_engine(f"sqlite:///{folder / 'seeded.db'}")
    upgrade(engine)
    seed_month(engine, load_rules(RULES_FILE), end=END, days=3, per_day=6)
    engine.dispose()
    return folder


def _names(folder: Path) -> list[str]:
    """Every Chinese name the rules file gives (areas, places, categories, teams), and the names, reports and
    notes of the seeded database (people's own words), longest first."""
    found = set(re.findall(r"[\u3400-\u9fff]+", RULES_FILE.read_text(encoding="utf-8")))
    if (folder / "seeded.db").exists():
        with sqlite3.connect(folder / "seeded.db") as db:
            found |= {name for (name,) in db.execute("SELECT name FROM person WHERE name IS NOT NULL")}
            found |= {text for (text,) in db.execute("SELECT text FROM ticket UNION SELECT note FROM ticket_event")
                      if text}
    return sorted(found, key=len, reverse=True)


def _plain(text: str, folder: Path) -> str:
    """``text`` without what is not a word of the language: paths and URLs, ids of the rules file, setting and
    option names, commands, invite codes, the time zone's name, numbers and times."""
    text = text.replace(str(folder), "").replace(str(RULES_FILE), "").replace(str(ROOT), "")
    text = re.sub(r"[a-z+]+://\S*|'[^'\n]*'|\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]+\b", "", text)  # URLs, input, codes
    text = re.sub(r"\b(Gridbot|SQLite|PostgreSQL)\b", "", text)  # proper names
    text = re.sub(r"GRIDBOT_[A-Z_]+|--[a-z-]+|`[^`]*`|gridbot( [a-z-]+)+|/join \S+|\bUTC\b|\bCST\b", "", text)
    text = re.sub(r"\.(db|yaml|env)\b", "", text)  # file names
    text = re.sub(r"\b(grid|team|area):[\w-]+", "", text)  # routing targets
    rules = load_rules(RULES_FILE)
    text = text.replace(rules.timezone, "")  # an IANA zone name
    ids = set(rules.areas) | set(rules.teams) | set(rules.categories)
    ids |= {"street_supervisor", "district", "grid_leader", "community_leader"}
    return re.sub(r"[A-Za-z0-9][\w.:-]*", lambda m: "" if m.group(0).rstrip(".:") in ids or
                  not re.search(r"[A-Za-z]{2}", m.group(0)) else m.group(0), text)


def run(folder: Path, lang: str, *args: str, code: int = 0) -> str:
    """stdout and stderr of ``gridbot ARGS --lang LANG`` on the seeded database."""
    result = CliRunner().invoke(app, [*args, "--lang", lang, "--database", f"sqlite:///{folder / 'seeded.db'}",
                                      "--rules", str(RULES_FILE)])
    assert result.exit_code == code, result.output
    return result.stdout + result.stderr


def assert_in_language(text: str, lang: str, folder: Path, what: str) -> None:
    """Chinese: no English word (the checker of every message); English: no Chinese but the rules' names."""
    assert text.strip(), f"{what} printed nothing"
    plain = _plain(text, folder)
    check(plain, lang, what)
    if lang == "en":
        for name in _names(folder):
            plain = plain.replace(name, "")
        assert not _CJK.search(plain), f"{what} (en) has Chinese: {plain!r}"


COMMANDS: dict[str, tuple[list[str], int]] = {
    "status": (["status"], 0),
    "status --check": (["status", "--check"], 1),
    "rules check": (["rules", "check"], 0),
    "invite": (["invite", "--role", "worker", "--area", "taizimiao-1", "--expires", "2d"], 0),
    "invite, bad --expires": (["invite", "--role", "worker", "--area", "dongting", "--expires", "soon"], 2),
    "sweep --dry-run": (["sweep", "--dry-run", "--now", NOW], 0),
    "db upgrade": (["db", "upgrade"], 0),
    "db prune --dry-run": (["db", "prune", "--dry-run"], 0),
    "digest": (["digest", "--area", "dongting", "--now", NOW], 0),
    "tickets list": (["tickets", "list", "--limit", "8"], 0),
    "tickets show": (["tickets", "show", "#2"], 0),
    "seed, not empty": (["seed", "--days", "1"], 1),
    "digest, unknown area": (["digest", "--area", "nowhere", "--now", NOW], 1),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_speaks_the_chosen_language(database: Path, command: str, lang: str) -> None:
    args, code = COMMANDS[command]
    assert_in_language(run(database, lang, *args, code=code), lang, database, command)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_backup_and_its_refusal_speak_the_chosen_language(database: Path, lang: str) -> None:
    target = database / f"copy{['zh', 'en'].index(lang)}.db"
    assert_in_language(run(database, lang, "db", "backup", str(target)), lang, database, "db backup")
    assert_in_language(run(database, lang, "db", "backup", str(target), code=1), lang, database, "backup exists")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_one_line_errors_speak_the_chosen_language(tmp_path: Path, lang: str) -> None:
    missing = CliRunner().invoke(app, ["rules", "check", str(tmp_path / "nope.yaml"), "--lang", lang])
    no_database = CliRunner().invoke(app, ["status", "--lang", lang, "--database", f"sqlite:///{tmp_path}/x.db",
                                           "--rules", str(RULES_FILE)])
    unsupported = CliRunner().invoke(app, ["status", "--lang", lang, "--database", "mysql://u@h/d"])
    for result, code in ((missing, 2), (no_database, 2), (unsupported, 2)):
        assert result.exit_code == code, result.output
        assert result.stderr.startswith("gridbot: ") or "\ngridbot: " in result.stderr, result.stderr
        assert_in_language(result.stderr.replace("gridbot: ", ""), lang, tmp_path, "error")


def test_the_language_comes_from_the_option_the_setting_then_the_locale(database: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRIDBOT_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.chdir(database)  # no stray .env
    args = ["rules", "check", str(RULES_FILE)]
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert "没有问题" in CliRunner().invoke(app, args).stdout
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert ": OK" in CliRunner().invoke(app, args).stdout
    monkeypatch.setenv("GRIDBOT_LANG", "zh")
    assert "没有问题" in CliRunner().invoke(app, args).stdout
    assert ": OK" in CliRunner().invoke(app, [*args, "--lang", "en"]).stdout
    (database / ".env").write_text("GRIDBOT_LANG=en\n", encoding="utf-8")
    monkeypatch.delenv("GRIDBOT_LANG")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    try:
        assert ": OK" in CliRunner().invoke(app, args).stdout
    finally:
        (database / ".env").unlink()
    bad = CliRunner().invoke(app, [*args, "--lang", "fr"])
    assert bad.exit_code == 2 and "GRIDBOT_LANG" in bad.stderr, bad.output
    assert [lang_of_locale(env) for env in ({"LANG": "zh_TW.UTF-8"}, {"LC_ALL": "en_US", "LANG": "zh_CN"}, {})] \
        == ["zh", "en", "en"]


def test_open311_names_follow_an_explicit_lang_only(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The export's language is data: ``--lang`` (a shared option now) chooses its names; ``GRIDBOT_LANG`` and the
    locale do not (zh by default, as before)."""
    rules = load_rules(RULES_FILE)
    args = ["tickets", "export", "--format", "open311", "--database", f"sqlite:///{database / 'seeded.db'}",
            "--rules", str(RULES_FILE)]
    english = json.loads(CliRunner().invoke(app, [*args, "--lang", "en"]).stdout)
    assert english[0]["service_name"] == rules.category_name(english[0]["service_code"], "en")
    monkeypatch.setenv("GRIDBOT_LANG", "en")
    default = json.loads(CliRunner().invoke(app, args).stdout)
    assert default[0]["service_name"] == rules.category_name(default[0]["service_code"], "zh")
