"""``gridbot run``: refuses without a token; runs the real bot against the emulator and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import run_cmd
from emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "4242:TEST-token"
RESIDENT = 6001


def test_without_a_token_says_what_to_set_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("GRIDBOT_TOKEN", raising=False)
    app = typer.Typer()
    run_cmd.register(app)
    app.command("noop")(lambda: None)  # keep "run" a sub-command
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "GRIDBOT_TOKEN=<token from @BotFather>" in result.output
    assert "GRIDBOT_API_BASE_URL" in result.output
    assert not (tmp_path / "gridbot.db").exists(), "nothing is created without a token"


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, webhook_retry_delay=0.05) as e:
        yield e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_gridbot_run_answers_and_stops_on_sigterm(emu: BotApiEmulator, tmp_path: Path, mode: str) -> None:
    env = {**os.environ, "GRIDBOT_TOKEN": TOKEN, "GRIDBOT_API_BASE_URL": emu.base_url,
           "GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
           "GRIDBOT_RULES": str(ROOT / "routing_rules.yaml"),
           "PYTHONPATH": str(ROOT)}  # this tree's code, not whatever the virtualenv has installed
    args = [sys.executable, "-m", "cli.main", "run"]
    if mode == "webhook":
        port = _free_port()
        args += ["--webhook", f"http://127.0.0.1:{port}", "--listen", "127.0.0.1", "--port", str(port)]
    process = await asyncio.create_subprocess_exec(
        *args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        emu.send_text(RESIDENT, "/start")
        await emu.wait_for(lambda: emu.messages_to(RESIDENT), timeout=60)
        if mode == "webhook":
            assert emu.webhook is not None and emu.webhook.url.startswith(f"http://127.0.0.1:{port}/")
        else:
            assert emu.calls_to("getUpdates")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert (tmp_path / "bot.db").exists(), "migrations were applied to the configured database"
