"""Baseline for the intake benchmark: a bare python-telegram-bot echo bot polling the Bot API emulator.

``run_echo_baseline(n_messages, n_users)`` starts an emulator (its own process by default, see
``benchmarks.drivers``), runs a PTB ``Application`` in polling mode with no rate limiter, injects every
message at once from ``n_users`` residents and waits until each has been echoed. Latency is measured on
the host's monotonic clock from injection to the echo's ``sendMessage`` arriving at the emulator.
Run: ``python -m benchmarks.echo_bot``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from benchmarks.drivers import Driver, ProcessDriver, ThreadDriver, wait_until

TOKEN = "5000:echo-baseline"
FIRST_USER = 500_000
FIRST_WATCHER, WATCHERS = 590_000, 12  # chats that get the copy when the echo bot answers twice


async def _echo_and_copy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo, then copy the text to a watcher chat: the two messages Gridbot sends per report (the
    resident's acknowledgement and the worker's notification), with no database and no logic."""
    message = update.message
    if message is not None and message.text is not None:
        await asyncio.gather(message.reply_text(message.text),  # side by side, as Gridbot's outbox sends
                             context.bot.send_message(FIRST_WATCHER + message.chat_id % WATCHERS, message.text))


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back to the chat it came from."""
    if update.message is not None and update.message.text is not None:
        await update.message.reply_text(update.message.text)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def echo_baseline(
    emu: Driver,
    n_messages: int,
    n_users: int,
    *,
    concurrent_updates: bool = False,
    rate: float | None = None,
    deadline: float = 300,
    replies: int = 1,
    handler: Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]] | None = None,
    suffix: Callable[[int], str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Run the echo bot against ``emu`` (already started) and measure it; see the module docstring.

    ``rate`` paces injection (messages per second); by default everything is injected at once.
    ``replies=2`` also copies each message to a watcher chat, and the message counts as handled when
    both have reached the emulator. ``handler`` replaces the echo (another baseline bot, whose every
    answer quotes the message's text); ``suffix(i)`` is appended to the ``i``-th message's text.
    """
    if replies not in (1, 2):
        raise ValueError("the echo bot answers once or twice")
    if handler is None:
        handler = _echo if replies == 1 else _echo_and_copy
    app = (
        Application.builder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.file_base_url)
        .concurrent_updates(concurrent_updates)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handler))
    tag = f"echo-{time.monotonic_ns()}-"
    key = re.compile(re.escape(tag) + r"\d+")
    for user in range(FIRST_USER, FIRST_USER + n_users):
        emu.add_user(user, f"user{user}", language_code="en")
    if replies == 2:
        for watcher in range(FIRST_WATCHER, FIRST_WATCHER + WATCHERS):
            emu.add_user(watcher, f"watcher{watcher}", language_code="en", started=True)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        injected: dict[str, float] = {}
        target = emu.sent_count() + replies * n_messages
        started, cpu_started = time.monotonic(), time.process_time()
        keys = [f"{tag}{i}" for i in range(n_messages)]
        messages = [(FIRST_USER + i % n_users, keys[i] + (suffix(i) if suffix else "")) for i in range(n_messages)]
        for k, (_, _, mono) in zip(keys, await emu.inject(messages, rate), strict=True):
            injected[k] = mono

        await wait_until(lambda: emu.sent_count() >= target, deadline)
        cpu_seconds = time.process_time() - cpu_started
        arrivals: dict[str, float] = {}
        for arrival in emu.arrivals():  # the last of a message's answers
            found = key.search(arrival.text)
            if found:
                arrivals[found[0]] = max(arrival.mono, arrivals.get(found[0], 0.0))
        elapsed = max(arrivals.values()) - started
        await app.updater.stop()
        await app.stop()
    latencies = [(arrivals[t] - injected[t]) * 1000 for t in injected]
    return {
        "bot": name or ("ptb-echo" if replies == 1 else "ptb-echo-and-copy"),
        "messages": n_messages,
        "users": n_users,
        "concurrent_updates": concurrent_updates,
        "injection_rate": rate or "burst",
        "seconds": round(elapsed, 3),
        "throughput_msg_s": round(n_messages / elapsed, 1),
        "cpu_ms_per_msg": round(cpu_seconds / n_messages * 1000, 3),
        "latency_p50_ms": round(_percentile(latencies, 0.50), 1),
        "latency_p99_ms": round(_percentile(latencies, 0.99), 1),
        "latency_max_ms": round(max(latencies), 1),
        "mean_latency_ms": round(statistics.fmean(latencies), 1),
        "duplicates": emu.duplicates(),
    }


def run_echo_baseline(
    n_messages: int,
    n_users: int,
    *,
    in_process: bool = False,
    concurrent_updates: bool = False,
    rate: float | None = None,
) -> dict[str, Any]:
    """Start an emulator (its own process unless ``in_process``), run the echo bot, return its figures."""
    driver: ThreadDriver | ProcessDriver = ThreadDriver(TOKEN) if in_process else ProcessDriver(TOKEN)
    with driver:
        coro = echo_baseline(driver, n_messages, n_users, concurrent_updates=concurrent_updates, rate=rate)
        result = asyncio.run(coro)
    result["emulator"] = "thread" if in_process else "process"
    return result


def main() -> None:
    """Command line: print the baseline figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.echo_bot", description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--concurrent", action="store_true", help="PTB concurrent_updates=True as well")
    parser.add_argument("--rate", type=float, default=None, help="also run paced at this many msg/s")
    parser.add_argument("--in-process", action="store_true", help="run the emulator in a thread of this process")
    args = parser.parse_args()
    results = [run_echo_baseline(args.messages, args.users, in_process=args.in_process)]
    if args.rate:
        results.append(run_echo_baseline(args.messages, args.users, rate=args.rate, in_process=args.in_process))
    if args.concurrent:
        results.append(run_echo_baseline(args.messages, args.users, concurrent_updates=True,
                                         in_process=args.in_process))
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
