"""Run the emulator as a process: ``python -m emulator --port 0 --token T``.

Prints ``EMULATOR_READY <base_url> <control_url>`` on stdout once listening; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from emulator.server import BotApiEmulator
from emulator.world import DEFAULT_TOKEN


async def _serve(args: argparse.Namespace) -> None:
    emu = BotApiEmulator(
        args.token,
        host=args.host,
        port=args.port,
        strict_rate_limits=args.strict_rate_limits,
        webhook_retry_delay=args.webhook_retry_delay,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with emu:
        print(f"EMULATOR_READY {emu.base_url} {emu.control_url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument(
        "--strict-rate-limits", action="store_true", help="answer 429 above Telegram's limits"
    )
    parser.add_argument("--webhook-retry-delay", type=float, default=0.5)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
