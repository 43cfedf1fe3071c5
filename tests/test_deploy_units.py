"""The systemd units in docs/deploy run real ``gridbot`` commands: each command line is run here as the
unit would run it (paths moved into a temporary directory)."""

from __future__ import annotations

import configparser
import re
import shlex
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cases.db import make_engine, upgrade
from cli.main import app

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy"
GRIDBOT = "/srv/gridbot/.venv/bin/gridbot"


def units() -> dict[str, configparser.ConfigParser]:
    found = {}
    for path in sorted(DEPLOY.glob("gridbot*.*")):
        parser = configparser.ConfigParser(interpolation=None, strict=True)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
        parser.read(path, encoding="utf-8")
        found[path.name] = parser
    return found


def gridbot_commands() -> list[tuple[str, list[str]]]:
    """(unit, gridbot arguments) for every Exec line that runs gridbot, through ``sh -c`` too."""
    commands = []
    for name, unit in units().items():
        if not unit.has_section("Service"):
            continue
        for key in ("ExecStartPre", "ExecStart"):
            line = unit["Service"].get(key)
            if line is None:
                continue
            words = shlex.split(line)
            if words[:2] == ["/bin/sh", "-c"]:
                words = shlex.split(words[2].replace("$(date +%%F)", date.today().isoformat()))
            if words[0] == GRIDBOT:
                commands.append((name, words[1:]))
    return commands


def test_every_timer_starts_a_service_and_every_service_runs_gridbot() -> None:
    found = units()
    assert {"gridbot.service", "gridbot-backup.service", "gridbot-status.service"} <= set(found)
    for name, unit in found.items():
        if name.endswith(".timer"):
            assert unit.has_section("Timer") and (name.removesuffix(".timer") + ".service") in found, name
        else:
            assert unit["Service"]["ExecStart"], name
    assert {name for name, _ in gridbot_commands()} == {n for n in found if n.endswith(".service")}


@pytest.mark.parametrize(("unit", "args"), gridbot_commands(), ids=lambda v: v if isinstance(v, str) else None)
def test_the_units_command_works(unit: str, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "gridbot.db"
    upgrade(engine := make_engine(f"sqlite:///{db}"))
    engine.dispose()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRIDBOT_TOKEN", raising=False)
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("GRIDBOT_RULES", str(ROOT / "routing_rules.yaml"))
    args = [a.replace("/var/backups/gridbot", str(tmp_path / "backups")) for a in args]
    result = CliRunner().invoke(app, args)
    output = result.output
    if args[0] == "run":  # no token here: it says what to set
        assert result.exit_code == 2 and "GRIDBOT_TOKEN" in output, output
    elif args[0] == "status":  # no bot holds the lease here: a problem, so --check fails
        assert result.exit_code == 1 and "PROBLEM: no bot process holds the leader lease" in output, output
    else:
        assert result.exit_code == 0, output
    if args[:2] == ["db", "backup"]:
        (copy,) = (tmp_path / "backups").glob("gridbot-*.db")
        assert re.fullmatch(r"gridbot-\d{4}-\d\d-\d\d\.db", copy.name)
        again = CliRunner().invoke(app, args)  # a second backup the same day replaces the first
        assert again.exit_code == 0, again.output
