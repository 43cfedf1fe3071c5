"""``python -m emulator`` as a separate process, driven by ``RemoteEmulator`` and a real PTB ``Bot``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from emulator.control import RemoteEmulator
from emulator.process import EmulatorProcess

TOKEN = "777:process-token"


@pytest.fixture
def standalone() -> Iterator[tuple[str, RemoteEmulator]]:
    process = EmulatorProcess(TOKEN)
    process.start()
    try:
        remote = RemoteEmulator(process.control_url)
        yield process.base_url, remote
        remote.close()
    finally:
        assert process.stop() == 0  # SIGTERM is a clean shutdown


def test_standalone_emulator_serves_a_bot_and_is_driven_over_http(
    standalone: tuple[str, RemoteEmulator],
) -> None:
    base_url, remote = standalone
    remote.send_text(31, "/start")

    async def bot_side() -> int:
        async with Bot(TOKEN, base_url=base_url) as bot:
            (update,) = await bot.get_updates(timeout=5)
            assert update.message is not None and update.message.text == "/start"
            kb = InlineKeyboardMarkup([[InlineKeyboardButton("Claim", callback_data="c:1")]])
            sent = await bot.send_message(31, "Ticket #1", reply_markup=kb)
            await bot.get_updates(offset=update.update_id + 1)
            return sent.message_id

    message_id = asyncio.run(bot_side())
    msg = remote.wait_message(31, contains="Ticket")
    assert msg["message_id"] == message_id and msg["reply_markup"]["inline_keyboard"][0][0]["text"] == "Claim"
    qid = remote.press(31, message_id, "c:1")
    pending = remote.query("updates")
    assert [u["callback_query"]["id"] for u in pending] == [qid]
    remote.block_user(31)
    remote.fail_next(1, status=502)
    stats = remote.stats()
    assert stats["sent_messages"] == 1 and stats["calls_by_method"]["sendMessage"] == 1


def test_a_burst_is_injected_in_one_request_with_its_creation_times(
    standalone: tuple[str, RemoteEmulator],
) -> None:
    _, remote = standalone
    before = time.monotonic()
    updates = remote.action("send_texts", messages=[[41, "a"], [42, "b"], [41, "c"]])
    after = time.monotonic()
    assert [(u["message"]["chat"]["id"], u["message"]["text"]) for u in updates] == [(41, "a"), (42, "b"), (41, "c")]
    ids = [u["update_id"] for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 3
    times = {int(k): v for k, v in remote.query("update_times").items()}
    # time.monotonic() is one clock for every process of the host: the other process's times fall in between.
    assert all(before <= times[i] <= after for i in ids)
    assert remote.query("sent_count") == 0


def test_the_emulator_paces_a_stream_of_messages_itself(standalone: tuple[str, RemoteEmulator]) -> None:
    _, remote = standalone
    remote.action("send_texts", messages=[[51, "burst"]])
    assert remote.action("pace_texts", messages=[[51, f"m{i}"] for i in range(10)], rate=50) == 10
    deadline = time.monotonic() + 10
    while len(remote.query("injections")) < 11 and time.monotonic() < deadline:
        time.sleep(0.05)
    injections = remote.query("injections")
    assert len(injections) == 11 and all(chat == 51 for chat, _, _ in injections)
    paced = [created for _, _, created in injections[1:]]
    assert paced == sorted(paced) and paced[-1] - paced[0] >= 9 / 50 * 0.9  # about 50 per second, not at once
    assert [u["message"]["text"] for u in remote.query("updates")] == ["burst"] + [f"m{i}" for i in range(10)]
