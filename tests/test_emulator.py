"""The Bot API emulator, driven by a real python-telegram-bot ``Bot`` and ``Application`` over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from emulator.control import RemoteEmulator
from emulator.server import BotApiEmulator, EmulatorThread

# PTB's RetryAfter reads its own deprecated int-valued ``retry_after`` while being constructed.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

TOKEN = "4242:TEST-token"
ALICE = 1001
BOB = 1002


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, webhook_retry_delay=0.05) as e:
        yield e


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.file_base_url) as b:
        yield b


def _retry_in(seconds: int) -> str:
    """RetryAfter's message (int or timedelta form) for ``seconds``."""
    return f"Retry in ({seconds} seconds|{dtm.timedelta(seconds=seconds)})"


async def test_get_me_and_unknown_token(emu: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 4242 and me.is_bot and me.username == emu.bot_username
    with pytest.raises(InvalidToken):
        await Bot("4242:wrong", base_url=emu.base_url).get_me()
    assert emu.calls_to("getMe")[-1].status == 401
    with pytest.raises(InvalidToken, match="does not implement sendDice"):  # PTB maps 404 to InvalidToken
        await bot.send_dice(ALICE)


async def test_get_updates_offsets_confirm_and_drop(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(ALICE, "Alice", language_code="zh-hans")
    for text in ("/start", "水管爆了", "third"):
        emu.send_text(ALICE, text)
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["/start", "水管爆了", "third"]
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 3
    first = updates[0].message
    assert first is not None and first.from_user is not None
    assert first.from_user.language_code == "zh-hans" and first.chat.type == "private"
    assert first.entities[0].type == "bot_command"
    assert [u.message.message_id for u in updates if u.message] == [1, 2, 3]
    # offset = id confirms everything below it; the update itself stays until confirmed
    again = await bot.get_updates(offset=ids[2])
    assert [u.update_id for u in again] == [ids[2]]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert emu.pending_updates() == []
    emu.send_text(ALICE, "later")
    later = await bot.get_updates(offset=ids[2] + 1, limit=1)
    assert later[0].update_id == ids[2] + 1


async def test_long_poll_returns_when_an_update_arrives(emu: BotApiEmulator, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    emu.send_text(ALICE, "hello")
    updates = await asyncio.wait_for(poll, 3)
    assert len(updates) == 1 and time.monotonic() - started < 3
    started = time.monotonic()
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=1) == ()
    assert time.monotonic() - started >= 0.9


async def test_a_newer_poll_ends_the_older_with_conflict(emu: BotApiEmulator, bot: Bot) -> None:
    old = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    async with Bot(TOKEN, base_url=emu.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await old


async def test_send_edit_delete_appear_in_transcript(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(ALICE, "/start")
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("Claim", callback_data="c:1:7")]])
    sent = await bot.send_message(ALICE, "Ticket <b>#7</b>", parse_mode="HTML", reply_markup=kb)
    assert sent.message_id == 2 and sent.text == "Ticket #7"
    assert sent.reply_markup == kb
    edited = await bot.edit_message_text("Claimed by Bob", ALICE, sent.message_id)
    assert isinstance(edited, Message) and edited.text == "Claimed by Bob" and edited.edit_date is not None
    stored = emu.last_message(ALICE)
    assert stored is not None and stored.text == "Claimed by Bob" and stored.reply_markup is None
    assert stored.history == ["Ticket #7"]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Claimed by Bob", ALICE, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", ALICE, 999)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", ALICE, 1)
    await bot.edit_message_reply_markup(ALICE, sent.message_id, reply_markup=kb)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(ALICE, sent.message_id, reply_markup=kb)
    assert await bot.delete_message(ALICE, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)
    methods = [e.method for e in emu.transcript_for(ALICE)]
    assert methods == ["sendMessage", "editMessageText", "editMessageReplyMarkup", "deleteMessage"]
    assert emu.messages_to(ALICE) == [] and len(emu.messages_to(ALICE, include_deleted=True)) == 1


async def test_text_and_callback_data_limits(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(ALICE, "hi")
    assert (await bot.send_message(ALICE, "x" * 4096)).text == "x" * 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(ALICE, "x" * 4097)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="d" * 64)]])
    await bot.send_message(ALICE, "fits", reply_markup=ok)
    bad = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data="数" * 22)]])  # 66 bytes
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(ALICE, "too long", reply_markup=bad)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(ALICE, "  ")
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(ALICE, "<blink>x</blink>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="reserved"):
        await bot.send_message(ALICE, "ticket 7.", parse_mode="MarkdownV2")
    assert len(emu.messages_to(ALICE)) == 2


async def test_reply_keyboards_location_request_and_remove(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(ALICE, "hi")
    kb = ReplyKeyboardMarkup([[KeyboardButton("Share location", request_location=True)]], one_time_keyboard=True)
    await bot.send_message(ALICE, "Where?", reply_markup=kb)
    last = emu.last_message(ALICE)
    assert last is not None and last.reply_markup is not None
    assert last.reply_markup["keyboard"][0][0]["request_location"] is True
    await bot.send_message(ALICE, "Thanks", reply_markup=ReplyKeyboardRemove())
    last = emu.last_message(ALICE)
    assert last is not None and last.reply_markup == {"remove_keyboard": True}
    emu.send_location(ALICE, 29.363, 113.104)
    updates = await bot.get_updates()
    loc = updates[-1].message.location if updates[-1].message else None
    assert loc is not None and (loc.latitude, loc.longitude) == (29.363, 113.104)


async def test_press_creates_callback_query_the_bot_must_answer(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(BOB, "/join X")
    kb = InlineKeyboardMarkup([[InlineKeyboardButton("Claim", callback_data="c:9"), InlineKeyboardButton(
        "Details", callback_data="d:9")]])  # fmt: skip
    await bot.send_message(BOB, "New ticket #9", reply_markup=kb)
    button = emu.find_button(BOB, "Claim")
    assert button is not None and button.callback_data == "c:9"
    qid = emu.press(BOB, button.message_id, "c:9")
    qid2 = emu.click(BOB, BOB, "Details")
    assert qid != qid2
    updates = await bot.get_updates()
    query = updates[-2].callback_query
    assert query is not None and query.id == qid and query.data == "c:9" and query.message is not None
    assert query.message.message_id == button.message_id and query.from_user.id == BOB
    assert [c.id for c in emu.unanswered_callbacks()] == [qid, qid2]
    assert await bot.answer_callback_query(qid, text="You claimed #9")
    assert emu.callbacks[qid].answered and emu.callbacks[qid].answer_text == "You claimed #9"
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(qid)
    with pytest.raises(ValueError, match="no button"):
        emu.press(BOB, button.message_id, "c:forged")
    emu.press(BOB, button.message_id, "c:forged", forge=True)
    assert emu.pending_updates()[-1]["callback_query"]["data"] == "c:forged"


async def test_429_injection_is_retry_after_and_5xx_is_network_error(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(ALICE, "hi")
    emu.fail_next(2, status=429, retry_after=7, methods=["sendMessage"])
    assert await bot.get_me()  # other methods are untouched
    for _ in range(2):
        with pytest.raises(RetryAfter, match=_retry_in(7)):
            await bot.send_message(ALICE, "x")
    assert (await bot.send_message(ALICE, "now")).text == "now"
    emu.fail_next(1, status=502)
    with pytest.raises(NetworkError) as net:
        await bot.send_message(ALICE, "y")
    assert not isinstance(net.value, RetryAfter | BadRequest)
    emu.fail_next(1, status=500)
    with pytest.raises(NetworkError):
        await bot.send_message(ALICE, "y")
    assert [m.text for m in emu.messages_to(ALICE)] == ["now"]
    statuses = [c.status for c in emu.calls_to("sendMessage")]
    assert statuses == [429, 429, 200, 502, 500]


async def test_fault_with_apply_delivers_but_reports_an_error(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(ALICE, "hi")
    emu.fail_next(1, status=502, methods=["sendMessage"], apply=True)
    with pytest.raises(NetworkError):
        await bot.send_message(ALICE, "lost answer")
    await bot.send_message(ALICE, "lost answer")
    assert [m.text for m in emu.messages_to(ALICE)] == ["lost answer", "lost answer"]
    dup = emu.duplicate_sends()
    assert len(dup) == 1 and dup[0]["chat_id"] == ALICE and dup[0]["count"] == 2


async def test_blocked_unknown_and_unstarted_chats(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(ALICE, "hi")
    emu.block_user(ALICE)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "x")
    emu.unblock_user(ALICE)
    assert await bot.send_message(ALICE, "back")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(777, "x")
    emu.add_user(BOB)
    with pytest.raises(Forbidden, match="initiate conversation"):
        await bot.send_message(BOB, "x")
    emu.add_user(BOB, started=True)
    assert await bot.send_message(BOB, "hello")


async def test_photos_files_and_misc_methods(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_photo(ALICE, caption="漏水 5栋", data=b"\xff\xd8JPEG-bytes" * 100)
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.caption == "漏水 5栋"
    big = update.message.photo[-1]
    tg_file = await bot.get_file(big.file_id)
    assert tg_file.file_size == 1200
    assert bytes(await tg_file.download_as_bytearray()) == b"\xff\xd8JPEG-bytes" * 100
    sent = await bot.send_photo(ALICE, b"\x89PNG" + bytes(500), caption="resolved")
    assert sent.caption == "resolved" and sent.photo
    assert emu.transcript[-1].method == "sendPhoto" and emu.transcript[-1].photo_size == 504
    again = await bot.send_photo(ALICE, big.file_id)
    assert again.photo[-1].file_size == 1200
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(ALICE, "nonsense-id")
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(ALICE, big.file_id, caption="c" * 1025)
    assert await bot.send_chat_action(ALICE, "typing")
    assert emu.chat_actions == [(ALICE, "typing")]
    assert await bot.set_my_commands([("start", "Start"), ("mine", "My tickets")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "mine"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Bad-Name", "x")])
    chat = await bot.get_chat(ALICE)
    assert chat.id == ALICE and chat.type == "private"


async def test_every_user_update_kind_parses_in_ptb(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_group(-100, "Grid 5 workers")
    emu.send_text(ALICE, "first")
    emu.edit_text(ALICE, 1, "first, amended")
    emu.send_sticker(ALICE)
    emu.send_voice(ALICE, duration=4)
    emu.send_video(ALICE)
    emu.send_document(ALICE, "a.pdf")
    emu.send_contact(ALICE)
    emu.send_poll(ALICE, "Q?", ["a", "b"])
    emu.send_text(BOB, "/bind@gridbot_emu_bot grid-5", chat=-100)
    emu.bot_added_to_group(BOB, -200, "New group")
    ups = await bot.get_updates()
    assert len(ups) == 10
    edited = ups[1].edited_message
    assert edited is not None and edited.text == "first, amended" and edited.message_id == 1
    kinds = [m.effective_attachment.__class__.__name__ for m in (u.message for u in ups[2:8]) if m]
    assert kinds == ["Sticker", "Voice", "Video", "Document", "Contact", "Poll"]
    group_msg = ups[8].message
    assert group_msg is not None and group_msg.chat.id == -100 and group_msg.chat.title == "Grid 5 workers"
    assert group_msg.entities[0].length == len("/bind@gridbot_emu_bot")
    member = ups[9].my_chat_member
    assert member is not None and member.new_chat_member.status == "member" and member.chat.id == -200
    voice = ups[3].message.voice if ups[3].message else None
    assert voice is not None and (await (await bot.get_file(voice.file_id)).download_as_bytearray())[:4] == b"OggS"


async def test_rate_observation_and_strict_mode(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(ALICE, "hi")
    emu.add_group(-300)
    await bot.send_message(ALICE, "one")
    await bot.send_message(ALICE, "two")
    for i in range(3):
        await bot.send_message(-300, f"g{i}")
    violations = emu.rate_violations()
    assert [(v.scope, v.chat_id, v.count) for v in violations] == [("chat", ALICE, 2)]
    assert len(emu.send_times(ALICE)) == 2 and len(emu.send_times()) == 5
    emu.strict_rate_limits = True
    with pytest.raises(RetryAfter, match=_retry_in(1)):
        await bot.send_message(ALICE, "three")
    assert await bot.send_message(-300, "group still fine")


async def test_webhook_delivery_with_secret_and_redelivery(emu: BotApiEmulator, bot: Bot) -> None:
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=200 if len(received) >= 3 else 500)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t-Token_1")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        update = emu.send_text(ALICE, "via webhook")
        await emu.wait_for(lambda: len(received) >= 3, timeout=5)
        await emu.wait_for(lambda: not emu.pending_updates(), timeout=5)
        assert {secret for secret, _ in received} == {"s3cr3t-Token_1"}
        assert {body["update_id"] for _, body in received} == {update["update_id"]}
        assert received[0][1]["message"]["text"] == "via webhook"
        assert [status for _, status in emu.webhook_deliveries] == [500, 500, 200]
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 500"
        with pytest.raises(BadRequest, match="unallowed characters"):
            await bot.set_webhook("http://127.0.0.1:1/x", secret_token="bad token!")
        assert await bot.delete_webhook()
        emu.send_text(ALICE, "polling again")
        assert [u.message.text for u in await bot.get_updates() if u.message] == ["polling again"]
    finally:
        await runner.cleanup()


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text("welcome")


async def test_ptb_application_polling_echo_bot(emu: BotApiEmulator) -> None:
    app = Application.builder().token(TOKEN).base_url(emu.base_url).base_file_url(emu.file_base_url).build()
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=2)
        emu.send_text(ALICE, "/start")
        for uid in range(2000, 2005):
            emu.send_text(uid, f"echo {uid}")
        await emu.wait_for(lambda: all(emu.last_message(u) for u in range(2000, 2005)), timeout=10)
        await emu.wait_for(lambda: emu.last_message(ALICE), timeout=5)
        await app.updater.stop()
        await app.stop()
    welcome = emu.last_message(ALICE)
    assert welcome is not None and welcome.text == "welcome"
    assert all((m := emu.last_message(u)) and m.text == f"echo {u}" for u in range(2000, 2005))
    assert emu.pending_updates() == []  # PTB confirmed everything on shutdown
    assert emu.duplicate_sends() == []


async def test_http_control_endpoints(emu: BotApiEmulator, bot: Bot) -> None:
    async with httpx.AsyncClient(base_url=emu.control_url) as http:
        r = await http.post("/send_text", json={"user_id": ALICE, "text": "from control"})
        assert r.status_code == 200 and r.json()["result"]["message"]["text"] == "from control"
        (update,) = await bot.get_updates()
        assert update.message is not None and update.message.text == "from control"
        kb = InlineKeyboardMarkup([[InlineKeyboardButton("Fixed", callback_data="fx:1")]])
        sent = await bot.send_message(ALICE, "Resolved?", reply_markup=kb)
        msgs = (await http.get("/messages", params={"chat_id": ALICE})).json()["result"]
        assert [m["text"] for m in msgs] == ["Resolved?"]
        button = (await http.get("/find_button", params={"chat_id": ALICE, "text": "Fixed"})).json()["result"]
        assert button["callback_data"] == "fx:1" and button["message_id"] == sent.message_id
        r = await http.post("/press", json={"user_id": ALICE, "message_id": sent.message_id, "callback_data": "fx:1"})
        qid = r.json()["result"]
        assert (await http.get("/updates")).json()["result"][-1]["callback_query"]["id"] == qid
        r = await http.post("/fail_next", json={"n": 1, "status": 429, "retry_after": 3})
        assert r.json()["ok"]
        with pytest.raises(RetryAfter, match=_retry_in(3)):
            await bot.send_message(ALICE, "x")
        r = await http.post("/press", json={"user_id": ALICE, "message_id": 99, "callback_data": "x"})
        assert r.status_code == 400 and "no message" in r.json()["description"]
        assert (await http.post("/nonsense", json={})).status_code == 404
        waiter = asyncio.create_task(http.get("/wait_message", params={"chat_id": ALICE, "contains": "later"}))
        await asyncio.sleep(0.1)
        await bot.send_message(ALICE, "later on")
        assert (await waiter).json()["result"]["text"] == "later on"
        timed_out = await http.get("/wait_message", params={"chat_id": ALICE, "count": 9, "timeout": 0.2})
        assert timed_out.status_code == 408
        stats = (await http.get("/stats")).json()["result"]
        assert stats["calls_by_method"]["sendMessage"] == 3 and stats["unanswered_callbacks"] == 1


def test_emulator_thread_sync_control_and_remote_client() -> None:
    with EmulatorThread(token=TOKEN) as emu:
        remote = RemoteEmulator(emu.control_url)
        try:
            update = remote.send_text(ALICE, "sync hello")
            assert update["message"]["chat"]["id"] == ALICE

            async def answer() -> None:
                async with Bot(TOKEN, base_url=emu.base_url) as b:
                    (u,) = await b.get_updates()
                    assert u.message is not None
                    await u.message.reply_text(f"got: {u.message.text}")

            asyncio.run(answer())
            msg = emu.wait_for_sync(lambda: emu.last_message(ALICE), timeout=5)
            assert msg is not None and msg.text == "got: sync hello"
            assert remote.wait_message(ALICE, contains="got:")["text"] == "got: sync hello"
            assert remote.stats()["sent_messages"] == 1
            with pytest.raises(TimeoutError):
                emu.wait_for_sync(lambda: emu.last_message(BOB), timeout=0.2)
        finally:
            remote.close()


async def test_send_voice_by_file_id_and_unknown_file(emu: BotApiEmulator, bot: Bot) -> None:
    emu.add_user(4321, "Voice", started=True)
    update = emu.send_voice(4321)
    file_id = update["message"]["voice"]["file_id"]
    sent = await bot.send_voice(4321, file_id, caption="#7")
    assert sent.voice is not None and sent.caption == "#7"
    assert emu.transcript[-1].method == "sendVoice"
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_voice(4321, "no-such-file")


async def test_send_venue_is_a_pin_with_title_and_address(emu: BotApiEmulator, bot: Bot) -> None:
    emu.send_text(ALICE, "/start")
    sent = await bot.send_venue(ALICE, latitude=29.353, longitude=113.104, title="金鹗小区5栋",
                                address="太子庙社区 · 第一网格")
    assert sent.venue is not None and sent.venue.title == "金鹗小区5栋"
    assert sent.venue.location.latitude == pytest.approx(29.353) and sent.location is not None
    stored = emu.last_message(ALICE)
    assert stored is not None and stored.media["venue"]["address"] == "太子庙社区 · 第一网格"
    with pytest.raises(BadRequest, match="title and address"):
        await bot.send_venue(ALICE, latitude=29.353, longitude=113.104, title="x", address=" ")
    with pytest.raises(BadRequest, match="latitude or longitude"):
        await bot.send_venue(ALICE, latitude=129.0, longitude=113.104, title="x", address="y")
