"""Second baseline for the intake benchmark: a naive ticket bot, the least a ticket bot could do.

python-telegram-bot with its defaults (httpx transport, updates one at a time), one ``sqlite3``
transaction per message (WAL and ``synchronous=NORMAL``, as Gridbot's SQLite), a dict lookup of the
problem's keyword and the place's grid, then the two sends a report needs: the resident's acknowledgement
with the ticket number and the grid worker's notice, side by side. No inbox, no outbox, no retries,
no routing rules, no rate limits, no flood check, no duplicate hint: what Gridbot adds costs above this.
Run: ``python -m benchmarks.naive_ticket_bot`` (prints its figures as JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from benchmarks.drivers import Driver, ProcessDriver
from benchmarks.echo_bot import FIRST_WATCHER, WATCHERS, echo_baseline

TOKEN = "5200:naive-ticket-bot"
KEYWORDS = {"灯": "streetlight", "垃圾": "garbage", "坑": "road", "吵": "noise"}
PLACES = {"金鹗小区": 0, "东方红小区": 1, "云梦花园": 2, "桃花苑": 3, "枫桥湖小区": 4, "铁路新村": 5,
          "白石岭小区": 6, "锦绣华庭": 7, "燕子山小区": 8, "望岳新村": 9, "柳林洲小区": 10, "南湖华府": 11}
PROBLEMS = ["楼道灯坏了，晚上一片漆黑", "门口的垃圾满了没人清运", "前面路面有个大坑", "楼下广场舞太吵了"]
SCHEMA = ("CREATE TABLE IF NOT EXISTS ticket (id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL, "
          "message_id INTEGER NOT NULL, text TEXT NOT NULL, category TEXT NOT NULL, grid INTEGER, "
          "created_at REAL NOT NULL, UNIQUE (chat_id, message_id))")


def report(i: int) -> str:
    """The text after the benchmark's tag for the ``i``-th message: a place and a problem."""
    places = list(PLACES)
    return f" {places[i % len(places)]}5栋{PROBLEMS[i % len(PROBLEMS)]}"


def open_database(path: Path) -> sqlite3.Connection:
    """The bot's database, with Gridbot's SQLite durability settings."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(SCHEMA)
    return conn


def make_handler(conn: sqlite3.Connection) -> Any:
    """The bot's one handler: look up, store in one transaction, answer and notify."""

    async def on_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None:
            return
        text = message.text
        category = next((c for word, c in KEYWORDS.items() if word in text), "other")
        grid = next((g for place, g in PLACES.items() if place in text), None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = conn.execute("INSERT INTO ticket (chat_id, message_id, text, category, grid, created_at) "
                                  "VALUES (?, ?, ?, ?, ?, ?)",
                                  (message.chat_id, message.message_id, text, category, grid, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        number = cursor.lastrowid
        worker = FIRST_WATCHER + (grid if grid is not None else 0) % WATCHERS
        await asyncio.gather(message.reply_text(f"工单号 #{number}：{text}"),
                             context.bot.send_message(worker, f"新工单 #{number}（{category}）：{text}"))

    return on_report


async def naive_baseline(emu: Driver, db_dir: Path, n_messages: int, n_users: int, *, rate: float | None = None,
                         deadline: float = 300) -> dict[str, Any]:
    """Run the naive ticket bot against ``emu`` (already started); figures as :func:`echo_baseline`'s."""
    conn = open_database(db_dir / "naive.db")
    try:
        return await echo_baseline(emu, n_messages, n_users, rate=rate, deadline=deadline, replies=2,
                                   handler=make_handler(conn), suffix=report, name="naive-ticket-bot")
    finally:
        conn.close()


def main() -> None:
    """Command line: print the naive bot's figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.naive_ticket_bot", description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="naive-bot-") as tmp, ProcessDriver(TOKEN) as emu:
        print(json.dumps(asyncio.run(naive_baseline(emu, Path(tmp), args.messages, args.users))))


if __name__ == "__main__":
    main()
