"""The aiohttp transport under python-telegram-bot, over real HTTP against the Bot API emulator."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.ptb import make_bot, retry_after_seconds
from bot.transport import AiohttpRequest
from cases.settings import Settings
from emulator import BotApiEmulator

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

TOKEN = "5151:transport-test"
USER = 3101
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as e:
        e.add_user(USER, started=True)
        yield e


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, request=AiohttpRequest(8, read_timeout=1.0)) as b:
        yield b


async def test_messages_keyboards_and_updates_round_trip(emu: BotApiEmulator, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("认领 Claim", callback_data="c:1")]])
    sent = await bot.send_message(USER, "新工单 #1 — 水管爆了", reply_markup=keyboard)
    stored = emu.last_message(USER)
    assert stored is not None and stored.message_id == sent.message_id
    assert stored.text == "新工单 #1 — 水管爆了" and stored.buttons()[0].text == "认领 Claim"
    emu.send_text(USER, "hello")
    (update,) = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "hello"


async def test_calls_go_as_one_json_body_with_nested_objects(emu: BotApiEmulator, bot: Bot) -> None:
    keyboard = {"inline_keyboard": [[{"text": "认领", "callback_data": "c:2"}]]}
    text = "引号\"和\\反斜杠"
    await bot.do_api_request("sendMessage", api_kwargs={"chat_id": USER, "text": text, "reply_markup": keyboard})
    (call,) = emu.calls_to("sendMessage")
    assert call.content_type == "application/json"
    assert call.params["reply_markup"] == keyboard and call.params["text"] == text
    stored = emu.last_message(USER)
    assert stored is not None and stored.buttons()[0].callback_data == "c:2"


async def test_a_photo_is_uploaded_as_multipart_byte_for_byte(emu: BotApiEmulator, bot: Bot) -> None:
    await bot.send_photo(USER, photo=PNG, caption="已修复 fixed")
    (entry,) = [e for e in emu.transcript if e.method == "sendPhoto"]
    assert entry.caption == "已修复 fixed" and entry.photo_size == len(PNG)
    (call,) = emu.calls_to("sendPhoto")
    assert call.content_type == "multipart/form-data"


async def test_telegram_errors_map_to_ptb_exceptions(emu: BotApiEmulator, bot: Bot) -> None:
    emu.fail_next(1, status=429, retry_after=7)
    with pytest.raises(RetryAfter) as retry:
        await bot.send_message(USER, "x")
    assert retry_after_seconds(retry.value) == 7
    emu.fail_next(1, status=502)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "x")
    emu.block_user(USER)
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")
    with pytest.raises(BadRequest):
        await bot.send_message(999_999, "nobody")


async def test_a_slow_answer_times_out(emu: BotApiEmulator, bot: Bot) -> None:
    emu.set_delay(3.0, methods=["sendMessage"])
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow")


async def test_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    request = AiohttpRequest(2, connect_timeout=1.0)
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{dead}/bot", request=request)
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(USER, "x")  # usable before initialize(), like PTB's own transport
    assert not isinstance(caught.value, TimedOut)
    await request.shutdown()


async def test_settings_choose_the_transport(emu: BotApiEmulator) -> None:
    default = make_bot(Settings(token=TOKEN, api_base_url=emu.base_url))
    assert isinstance(default.request, AiohttpRequest)
    httpx_bot = make_bot(Settings(token=TOKEN, api_base_url=emu.base_url, http_client="httpx"))
    assert not isinstance(httpx_bot.request, AiohttpRequest)
    async with default, httpx_bot:
        await default.send_message(USER, "via aiohttp")
        await httpx_bot.send_message(USER, "via httpx")
    assert [m.text for m in emu.messages_to(USER)] == ["via aiohttp", "via httpx"]
    assert default.request._session is None, "shutdown closes the session"  # type: ignore[attr-defined]
