"""The real bot as a process under test: ``python -m cli.main run`` against an emulator, started with
Telegram's real limits and stopped gracefully, plus what the crash and fault tests share around it
(polling for progress, a free port, the residents' reports and the acknowledgement they expect).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from emulator import EmulatorState

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
#: Reports that each name a place, so each becomes a dispatched ticket.
REPORTS = [
    "金鹗小区5栋楼道灯坏了，晚上一片漆黑",
    "东方红小区3栋门口的垃圾满了没人清运",
    "云梦花园2栋前面路面有个大坑",
    "桃花苑6栋楼道灯不亮好几天了",
    "枫桥湖小区4栋垃圾桶发臭了",
]
#: The acknowledgement a resident gets for a new ticket (zh), with its number.
ACK = re.compile(r"已受理，工单号 #(\d+)")
#: Settings that would loosen what the emulator checks: without them the bot keeps Telegram's real limits
#: and polls (no webhook).
_LOOSENING = ("GRIDBOT_OUTBOX_GLOBAL_PER_SECOND", "GRIDBOT_OUTBOX_PRIVATE_PER_SECOND", "GRIDBOT_WEBHOOK_SECRET")


def add_residents(emu: EmulatorState, count: int, first: int) -> list[int]:
    """``count`` Chinese-speaking residents with ids from ``first`` (named 居民0, 居民1, ...)."""
    residents = [first + i for i in range(count)]
    for n, user in enumerate(residents):
        emu.add_user(user, f"居民{n}", language_code="zh-hans")
    return residents


def report_text(i: int, residents: int) -> str:
    """The ``i``-th of a stream of reports that ``residents`` residents send in turn."""
    return f"{REPORTS[i % len(REPORTS)]}（第{i // residents + 1}次反映）"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], T], timeout: float, what: str, step: float = 0.05) -> T:
    """Poll ``predicate`` until truthy; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


def start_bot(token: str, api_base_url: str, database_url: str, log: Path, *, lease_seconds: float = 30.0,
              **env: str) -> subprocess.Popen[bytes]:
    """``gridbot run`` (this tree's code) polling the Bot API at ``api_base_url``, its output appended to ``log``.

    The sweep is out of the way (hourly); ``env`` adds or overrides settings, except the ones that would
    loosen Telegram's limits or switch to a webhook, which are always removed.
    """
    variables = {**os.environ, "GRIDBOT_TOKEN": token, "GRIDBOT_API_BASE_URL": api_base_url,
                 "GRIDBOT_DATABASE_URL": database_url, "GRIDBOT_RULES": str(ROOT / "routing_rules.yaml"),
                 "GRIDBOT_SWEEP_SECONDS": "3600", "GRIDBOT_LEASE_SECONDS": str(lease_seconds), **env}
    for name in _LOOSENING:
        variables.pop(name, None)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "cli.main", "run"], cwd=ROOT, env=variables,
                                stdout=out, stderr=subprocess.STDOUT)


def stop_bot(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM (resuming the process first if it was frozen), then SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
