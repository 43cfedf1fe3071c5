"""Every command, from anywhere: one line and a documented exit code for each configuration mistake, never a
traceback; read-only commands create and migrate nothing; settings come in a documented search order, and
each command says which rules file and database it used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cases.db import make_engine, upgrade
from cli.common import EXIT_CONFIG, EXIT_PROBLEM, EXIT_UNREACHABLE
from cli.main import app

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "routing_rules.yaml"
runner = CliRunner()
READ_ONLY = [
    ["status"],
    ["status", "--check"],
    ["tickets", "list"],
    ["tickets", "export"],
    ["digest", "--area", "taizimiao-1"],
    ["invite", "--role", "worker", "--area", "taizimiao-1"],
    ["sweep", "--dry-run"],
    ["db", "prune", "--dry-run"],
]


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that is not the checkout, without any GRIDBOT_ setting."""
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("GRIDBOT_DATABASE_URL", "GRIDBOT_RULES", "GRIDBOT_TOKEN", "GRIDBOT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return work


def one_line(result: Result, code: int, *fragments: str) -> str:
    """The result exited with ``code`` and said so in one ``gridbot:`` line containing ``fragments``."""
    errors = [line for line in result.output.splitlines() if line.startswith("gridbot:")]
    assert result.exit_code == code, result.output
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for fragment in fragments:
        assert fragment in errors[0], result.output
    return errors[0]


def migrated(path: Path, revision: str = "head") -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine, revision)
    engine.dispose()
    return url


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_database(args: list[str], tmp_path: Path) -> None:
    target = tmp_path / "typo.db"
    result = runner.invoke(app, [*args, "--database", f"sqlite:///{target}", "--rules", str(RULES)])
    one_line(result, EXIT_CONFIG, f"no database at {target}", "gridbot db upgrade")
    assert not target.exists()


@pytest.mark.parametrize("args", [["status", "--check"], ["tickets", "list"], ["sweep", "--dry-run"]], ids=" ".join)
def test_read_only_commands_never_migrate_a_database_that_is_behind(args: list[str], tmp_path: Path) -> None:
    url = migrated(tmp_path / "old.db", "0001")
    result = runner.invoke(app, [*args, "--database", url, "--rules", str(RULES)])
    one_line(result, EXIT_CONFIG, "is at migration 0001, behind", "gridbot db upgrade")
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]


@pytest.mark.postgres
def test_a_database_that_belongs_to_something_else_is_left_alone(pg_url: str) -> None:
    result = runner.invoke(app, ["status", "--database", pg_url, "--rules", str(RULES)])
    one_line(result, EXIT_CONFIG, "has no Gridbot schema")
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)) as c:
        assert c.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                         ).fetchone() == (0,)


def test_db_upgrade_creates_and_then_status_reads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--database", url]).exit_code == 0
    result = runner.invoke(app, ["status", "--database", url, "--rules", str(RULES)])
    assert result.exit_code == 0 and f"database: {url}" in result.output


@pytest.mark.parametrize(
    ("url", "code", "fragments"),
    [
        ("postgresql://gridbot:s3cret@127.0.0.1:1/gridbot", EXIT_UNREACHABLE,
         ["cannot reach the database postgresql+psycopg://gridbot:***@127.0.0.1:1/gridbot"]),
        ("not a database url", EXIT_CONFIG, ["malformed"]),
        ("mysql://gridbot:s3cret@localhost/gridbot", EXIT_CONFIG, ["unsupported database 'mysql'"]),
        ("oracle+cx_oracle://gridbot:s3cret@localhost/x", EXIT_CONFIG, ["unsupported database 'oracle'"]),
    ],
    ids=["unreachable", "malformed", "mysql", "oracle"],
)
@pytest.mark.parametrize("command", [["status", "--check"], ["db", "upgrade"], ["tickets", "list"]], ids=" ".join)
def test_bad_database_urls_are_one_line_without_the_password(
        url: str, code: int, fragments: list[str], command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", url)
    result = runner.invoke(app, [*command, "--rules", str(RULES)])
    one_line(result, code, *fragments)
    assert "s3cret" not in result.output


def test_a_database_under_a_file_or_in_a_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    under = runner.invoke(app, ["db", "upgrade", "--database", f"sqlite:///{tmp_path / 'file.txt' / 'x.db'}"])
    one_line(under, EXIT_CONFIG, "does not exist", "a part of it is a file")
    missing = runner.invoke(app, ["db", "upgrade", "--database", f"sqlite:///{tmp_path / 'nope' / 'x.db'}"])
    one_line(missing, EXIT_CONFIG, f"the folder {tmp_path / 'nope'} does not exist")


@pytest.mark.parametrize(
    ("output", "fragment"),
    [("nope/x.csv", "does not exist"), ("file.txt/x.csv", "a file, not a folder"),
     ("/sys/gridbot-test.csv", "permission denied")],
    ids=["missing folder", "under a file", "permission"],
)
@pytest.mark.parametrize("command", [["tickets", "export"], ["digest", "--area", "taizimiao-1", "--format", "json"]],
                         ids=" ".join)
def test_output_paths_that_cannot_be_written(output: str, fragment: str, command: list[str], tmp_path: Path,
                                             elsewhere: Path) -> None:
    (elsewhere / "file.txt").write_text("x")
    url = migrated(tmp_path / "ok.db")
    result = runner.invoke(app, [*command, "--database", url, "--rules", str(RULES), "--output", output])
    one_line(result, EXIT_CONFIG, fragment)


def test_rules_not_found_names_the_path_and_how_to_set_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRIDBOT_RULES", "/etc/nowhere/rules.yaml")
    for args in (["rules", "check"], ["route", "路灯坏了"], ["invite", "--role", "worker", "--area", "x"]):
        line = one_line(runner.invoke(app, args), EXIT_CONFIG, "rules file not found: /etc/nowhere/rules.yaml",
                        "(from GRIDBOT_RULES)", "--rules FILE")
        assert ":1:1" not in line


def test_without_any_setting_the_bundled_sample_is_used_and_said(elsewhere: Path) -> None:
    result = runner.invoke(app, ["rules", "check"])
    assert result.exit_code == 0, result.output
    assert "rules: " in result.output and "the sample bundled with Gridbot" in result.output


def test_search_order_option_then_environment_then_dot_env(elsewhere: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from_file, from_env, from_option = (migrated(tmp_path / f"{n}.db") for n in ("file", "env", "option"))
    (elsewhere / ".env").write_text(f"GRIDBOT_DATABASE_URL={from_file}\nGRIDBOT_RULES={RULES}\n")
    said = runner.invoke(app, ["status"]).output
    assert f"database: {from_file} (GRIDBOT_DATABASE_URL in {elsewhere / '.env'})" in said
    assert f"rules: {RULES} (GRIDBOT_RULES in {elsewhere / '.env'})" in said
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", from_env)
    assert f"database: {from_env} (GRIDBOT_DATABASE_URL)" in runner.invoke(app, ["status"]).output
    for args in (["status", "--database", from_option], ["--database", from_option, "status"],
                 ["status", f"--database={from_option}"]):
        assert f"database: {from_option} (--database)" in runner.invoke(app, args).output


def test_status_check_exit_codes_are_distinct(tmp_path: Path) -> None:
    """1: the bot needs an operator; 2: configuration; 3: the database cannot be reached."""
    url = migrated(tmp_path / "ok.db")
    assert runner.invoke(app, ["status", "--check", "--database", url, "--rules", str(RULES)]).exit_code \
        == EXIT_PROBLEM  # no bot running
    assert runner.invoke(app, ["status", "--check", "--database", "mysql://x/y"]).exit_code == EXIT_CONFIG
    assert runner.invoke(app, ["status", "--check", "--database", "postgresql://x@127.0.0.1:1/y"]).exit_code \
        == EXIT_UNREACHABLE


def test_an_invalid_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRIDBOT_KEEP_DAYS", "soon")
    one_line(runner.invoke(app, ["db", "prune", "--database", migrated(tmp_path / "ok.db")]), EXIT_CONFIG,
             "the setting GRIDBOT_KEEP_DAYS is invalid")


def test_status_never_shows_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cases import job_log
    from cases.clock import utcnow
    from cases.db import session_scope

    url = migrated(tmp_path / "ok.db")
    token = "123456789:AAHsecretSECRETsecretSECRETsecret123"
    monkeypatch.setenv("GRIDBOT_TOKEN", token)
    engine = make_engine(url)
    with session_scope(engine) as s:
        job_log.started(s, name="sweep", interval=60, holder="h:1:a", now=utcnow())
        job_log.finished(s, name="sweep", now=utcnow(),
                         error=f"NetworkError: POST https://api.telegram.org/bot{token}/sendMessage failed")
    engine.dispose()
    for args in (["status"], ["status", "--json"]):
        result = runner.invoke(app, [*args, "--database", url, "--rules", str(RULES)])
        assert "sendMessage failed" in result.output and "/bot123456789:***/sendMessage" in result.output
        assert "AAHsecret" not in result.output


def test_gridbot_debug_shows_the_traceback_with_the_token_masked(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    token = "987654321:AAHsecretSECRETsecretSECRETsecret987"
    monkeypatch.setenv("GRIDBOT_TOKEN", token)
    monkeypatch.setenv("GRIDBOT_DEBUG", "1")
    result = runner.invoke(app, ["tickets", "export", "--database", migrated(tmp_path / "ok.db"),
                                 "--output", f"nope/{token}.csv"])  # the error quotes the token
    assert result.exit_code == EXIT_CONFIG and "Traceback (most recent call last)" in result.output
    assert "987654321:***.csv" in result.output and "AAHsecret" not in result.output


def test_the_bundled_sample_ships_inside_the_package() -> None:
    import tomllib

    from cli.common import BUNDLED_RULES

    sample = BUNDLED_RULES[0]
    assert sample.is_file() and sample.read_bytes() == RULES.read_bytes()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "sample/*.yaml" in data["tool"]["setuptools"]["package-data"]["cases"]
    assert sample.parent.parent.name == "cases"
