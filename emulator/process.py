"""The emulator as a child process (``python -m emulator``): started, its URLs read from the
``EMULATOR_READY <base_url> <control_url>`` line it prints once listening, stopped with SIGTERM (a clean
shutdown exits 0)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType

from emulator.world import DEFAULT_TOKEN

#: The folder holding the ``emulator`` package, so the child runs this very code.
_HOME = Path(__file__).resolve().parent.parent


class EmulatorProcess:
    """``with EmulatorProcess(token) as emu:`` a standalone emulator, driven by ``RemoteEmulator(emu.control_url)``."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.base_url = self.file_base_url = self.control_url = ""
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start the process and wait for its ready line; RuntimeError if it does not print one."""
        self.process = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0", "--token", self.token],
                                        cwd=_HOME, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().split()
        if len(ready) < 3 or ready[0] != "EMULATOR_READY":
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"the emulator process did not start: {ready}")
        self.base_url, self.control_url = ready[1], ready[2]
        self.file_base_url = self.base_url.replace("/bot", "/file/bot", 1)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit code (None if never started)."""
        if self.process is None:
            return None
        self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
