"""``gridbot run`` as a real process: a stop signal ends it in every phase with exit code 0, a rejected token
is one line and exit code 2, and no token ever reaches its log (python-telegram-bot's httpx transport logs
every request URL, ``.../bot<token>/getMe``, at INFO).

The 15-second waits only detect a hang (the process ignoring the signal); they are not a speed target.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import EmulatorThread

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "4242:SIGNAL-test-token-secret"
HANG = 15.0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotProcess:
    """``python -m cli.main run`` with its stdout and stderr in a file."""

    def __init__(self, tmp_path: Path, base_url: str, token: str = TOKEN, args: tuple[str, ...] = (),
                 **env: str) -> None:
        self.log = tmp_path / "run.log"
        full_env = {**os.environ, "GRIDBOT_TOKEN": token, "GRIDBOT_API_BASE_URL": base_url,
                    "GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                    "GRIDBOT_RULES": str(ROOT / "routing_rules.yaml"), "PYTHONPATH": str(ROOT), **env}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "cli.main", "run", *args], cwd=tmp_path,
                                            env=full_env, stdout=out, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, fragment: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while fragment not in self.text():
            if self.process.poll() is not None:
                raise AssertionError(f"the bot exited ({self.process.returncode}) before {fragment!r}:\n{self.text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {fragment!r} in the log after {timeout}s:\n{self.text()}")
            time.sleep(0.02)

    def wait(self) -> int:
        """The exit code; fails if the process is still running after :data:`HANG` seconds."""
        try:
            return self.process.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the bot did not stop within {HANG}s:\n{self.text()[-3000:]}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def emu() -> Iterator[EmulatorThread]:
    with EmulatorThread(token=TOKEN) as e:
        yield e


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_the_retries_while_the_bot_api_is_unreachable(tmp_path: Path, sig: int) -> None:
    bot = BotProcess(tmp_path, f"http://127.0.0.1:{_closed_port()}/bot")
    try:
        bot.wait_log("retrying in 2s")  # in the second retry wait
        bot.process.send_signal(sig)
        assert bot.wait() == 0, bot.text()
    finally:
        bot.kill()
    assert "stop signal during start-up" in bot.text()
    assert "Traceback" not in bot.text()


def test_a_stop_signal_during_start_up_exits_0(tmp_path: Path) -> None:
    bot = BotProcess(tmp_path, f"http://127.0.0.1:{_closed_port()}/bot")
    try:
        bot.wait_log("starting gridbot")  # before the rules are read and the migrations run
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait() == 0, bot.text()
    finally:
        bot.kill()
    assert "Traceback" not in bot.text()


def test_ctrl_c_while_polling_then_sigterm_during_shutdown_exit_0_and_the_token_is_never_logged(
        tmp_path: Path, emu: EmulatorThread) -> None:
    bot = BotProcess(tmp_path, emu.base_url, GRIDBOT_HTTP_CLIENT="httpx")  # httpx logs each request's URL
    try:
        emu.send_text(6001, "/start")
        emu.wait_for_sync(lambda: emu.messages_to(6001), timeout=60)
        bot.wait_log("getUpdates")
        bot.process.send_signal(signal.SIGINT)
        bot.wait_log("shutting down")
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait() == 0, bot.text()
    finally:
        bot.kill()
    log = bot.text()
    assert "/bot4242:***/getUpdates" in log, "the request URLs are logged, masked"
    assert TOKEN not in log and TOKEN.split(":")[1] not in log


def test_a_rejected_token_is_one_line_and_exit_2_without_the_token(tmp_path: Path, emu: EmulatorThread) -> None:
    wrong = "4242:WRONG-token-that-must-never-be-logged"
    bot = BotProcess(tmp_path, emu.base_url, wrong, GRIDBOT_HTTP_CLIENT="httpx")
    try:
        assert bot.wait() == 2, bot.text()
    finally:
        bot.kill()
    log = bot.text()
    assert wrong.split(":")[1] not in log, log
    assert "/bot4242:***/getMe" in log, "the getMe request is logged, masked"
    errors = [line for line in log.splitlines() if line.startswith("gridbot:")]
    assert len(errors) == 1 and "rejected the token" in errors[0], log
    assert "Traceback" not in log and "cannot reach the Bot API" not in log


def test_the_database_down_at_start_is_one_line_and_exit_3(tmp_path: Path) -> None:
    bot = BotProcess(tmp_path, f"http://127.0.0.1:{_closed_port()}/bot",
                     GRIDBOT_DATABASE_URL=f"postgresql://gridbot:s3cret@127.0.0.1:{_closed_port()}/gridbot")
    try:
        assert bot.wait() == 3, bot.text()
    finally:
        bot.kill()
    log = bot.text()
    errors = [line for line in log.splitlines() if line.startswith("gridbot:")]
    assert len(errors) == 1 and "cannot reach the database postgresql+psycopg://gridbot:***@" in errors[0], log
    assert "Traceback" not in log and "s3cret" not in log


def test_sigterm_while_polling_fails_exits_0(tmp_path: Path, emu: EmulatorThread) -> None:
    emu.fail_next(1000, status=502, methods=["getUpdates"])  # Telegram behind a broken proxy once started
    bot = BotProcess(tmp_path, emu.base_url)
    try:
        bot.wait_log("gridbot running (polling)")
        bot.wait_log("polling failed")
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait() == 0, bot.text()
    finally:
        bot.kill()
    assert "Traceback" not in bot.text()


def test_the_console_inside_the_bot_serves_and_stops_with_it(tmp_path: Path, emu: EmulatorThread) -> None:
    """``gridbot run --web PORT``: the Open311 API answers from the bot's process, and SIGTERM stops both
    (the runtime's own serving loop, exit 0), with no token in the log."""
    import json
    import urllib.request

    port = _closed_port()
    bot = BotProcess(tmp_path, emu.base_url, args=("--web", str(port)))
    try:
        bot.wait_log("gridbot running")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/open311/v2/services.json", timeout=10) as reply:
            services = json.loads(reply.read())
        assert reply.status == 200 and {s["service_code"] for s in services} >= {"gas", "water", "other"}
        bot.process.send_signal(signal.SIGTERM)
        assert bot.wait() == 0, bot.text()
    finally:
        bot.kill()
    assert TOKEN not in bot.text() and TOKEN.split(":")[1] not in bot.text()
