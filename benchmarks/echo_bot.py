"""Baseline for the intake benchmark: a bare python-telegram-bot echo bot polling the Bot API emulator.

``run_echo_baseline(n_messages, n_users)`` starts an emulator in a background thread (or uses the one
given), runs a PTB ``Application`` in polling mode with no rate limiter, injects every message at once
from ``n_users`` residents and waits until each has been echoed. Latency is measured on the emulator's
clock from injection to the echo's ``sendMessage`` arriving. Run: ``python -m benchmarks.echo_bot``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from emulator.server import EmulatorThread

TOKEN = "5000:echo-baseline"
FIRST_USER = 500_000


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back to the chat it came from."""
    if update.message is not None and update.message.text is not None:
        await update.message.reply_text(update.message.text)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def echo_baseline(
    emu: EmulatorThread,
    n_messages: int,
    n_users: int,
    *,
    concurrent_updates: bool = False,
    rate: float | None = None,
    deadline: float = 300,
) -> dict[str, Any]:
    """Run the echo bot against ``emu`` (already started) and measure it; see the module docstring.

    ``rate`` paces injection (messages per second); by default everything is injected at once.
    """
    app = (
        Application.builder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.file_base_url)
        .concurrent_updates(concurrent_updates)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    tag = f"echo-{time.monotonic_ns()}-"
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        injected: dict[str, float] = {}
        target = emu.sent_count + n_messages
        started = time.monotonic()
        for i in range(n_messages):
            text = f"{tag}{i}"
            update = emu.send_text(FIRST_USER + i % n_users, text)
            injected[text] = emu.update_times[update["update_id"]]
            if rate:
                await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))

        await emu.wait_for(lambda: emu.sent_count >= target, deadline)
        arrivals = {e.text: e.mono for e in emu.transcript if e.text and e.text.startswith(tag)}
        elapsed = max(arrivals.values()) - started
        await app.updater.stop()
        await app.stop()
    latencies = [(arrivals[t] - injected[t]) * 1000 for t in injected]
    dups = [d for d in emu.duplicate_sends() if str(d["text"]).startswith(tag)]
    return {
        "bot": "ptb-echo",
        "messages": n_messages,
        "users": n_users,
        "concurrent_updates": concurrent_updates,
        "injection_rate": rate or "burst",
        "seconds": round(elapsed, 3),
        "throughput_msg_s": round(n_messages / elapsed, 1),
        "latency_p50_ms": round(_percentile(latencies, 0.50), 1),
        "latency_p99_ms": round(_percentile(latencies, 0.99), 1),
        "latency_max_ms": round(max(latencies), 1),
        "mean_latency_ms": round(statistics.fmean(latencies), 1),
        "duplicates": len(dups),
    }


def run_echo_baseline(
    n_messages: int,
    n_users: int,
    *,
    emulator: EmulatorThread | None = None,
    concurrent_updates: bool = False,
    rate: float | None = None,
) -> dict[str, Any]:
    """Start an emulator (unless given), run the echo bot, return throughput and p50/p99 latency."""
    emu = emulator or EmulatorThread(token=TOKEN)
    if emulator is None:
        emu.start()
    try:
        coro = echo_baseline(emu, n_messages, n_users, concurrent_updates=concurrent_updates, rate=rate)
        return asyncio.run(coro)
    finally:
        if emulator is None:
            emu.stop()


def main() -> None:
    """Command line: print the baseline figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.echo_bot", description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrent", action="store_true", help="PTB concurrent_updates=True as well")
    parser.add_argument("--rate", type=float, default=None, help="also run paced at this many msg/s")
    args = parser.parse_args()
    results = [run_echo_baseline(args.messages, args.users)]
    if args.rate:
        results.append(run_echo_baseline(args.messages, args.users, rate=args.rate))
    if args.concurrent:
        results.append(run_echo_baseline(args.messages, args.users, concurrent_updates=True))
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
