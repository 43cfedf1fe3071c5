"""A Telegram Bot API emulator for tests, benchmarks and ``gridbot demo`` (no network needed).

``async with BotApiEmulator(token=...) as emu`` runs it in the current loop; ``EmulatorThread`` in a
background thread; ``python -m emulator --port N --token T`` as a process driven by ``RemoteEmulator``.
Point python-telegram-bot at it with ``base_url=emu.base_url, base_file_url=emu.file_base_url``.
"""

from emulator.callbacks import CallbackRecord
from emulator.control import RemoteEmulator
from emulator.errors import ApiError
from emulator.rates import RateViolation
from emulator.records import Button, EmuUser, StoredMessage, TranscriptEntry
from emulator.server import BotApiEmulator, EmulatorServer, EmulatorThread
from emulator.state import EmulatorState
from emulator.world import DEFAULT_TOKEN

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "BotApiEmulator",
    "Button",
    "CallbackRecord",
    "EmuUser",
    "EmulatorServer",
    "EmulatorState",
    "EmulatorThread",
    "RateViolation",
    "RemoteEmulator",
    "StoredMessage",
    "TranscriptEntry",
]
