"""``gridbot demo``: the real bot against a local Bot API emulator, playing a short story.

No token, no network: an emulator on 127.0.0.1, the bundled rules and a temporary SQLite file. A resident
reports a burst pipe and shares a location; two workers race to claim; one wins; the resident is told;
the worker resolves; the resident confirms and rates. The chat transcript is printed as it happens.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from emulator import BotApiEmulator, TranscriptEntry

DEMO_TOKEN = "123456:DEMO-gridbot-token"
RESIDENT, WANG, LI, ZHANG = 5001, 6001, 6002, 6003
POINT = (29.3530, 113.1040)  # (lat, lon) inside grid taizimiao-1 of the bundled rules
STEP_TIMEOUT = 60.0
IDLE_POLL = 0.05
RULES = Path(__file__).resolve().parent.parent / "routing_rules.yaml"


@dataclass
class Narrator:
    """Prints user actions and every new bot message, edit and button answer, in order."""

    emu: BotApiEmulator
    out: TextIO
    names: dict[int, str]
    seen: int = 0
    lines: list[str] = field(default_factory=list)

    def emit(self, line: str) -> None:
        self.lines.append(line)
        print(line, file=self.out, flush=True)

    def user(self, user_id: int, what: str) -> None:
        self.emit(f"\n👤 {self.names[user_id]}: {what}")

    def admin(self, what: str) -> None:
        self.emit(f"\n🛠  admin$ {what}")

    def flush(self) -> None:
        entries = self.emu.transcript[self.seen:]
        self.seen += len(entries)
        for entry in entries:
            self.emit(self._render(entry))

    def _render(self, entry: TranscriptEntry) -> str:
        who = self.names.get(entry.chat_id, str(entry.chat_id))
        body = (entry.text or entry.caption or "").replace("\n", "\n      ")
        buttons = _buttons(entry.reply_markup)
        if entry.method == "sendMessage":
            head = f"🤖 → {who}: "
        elif entry.method.startswith("edit"):
            head = f"✏️  (edits its message to {who}) "
            if not body:
                body = "(buttons removed)" if not buttons else ""
        elif entry.method == "sendVenue":
            head = f"🤖 📍 → {who}: "
            body = self._venue(entry)
        else:
            head = f"🤖 {entry.method} → {who}: "
        return f"   {head}{body}{buttons}"

    def _venue(self, entry: TranscriptEntry) -> str:
        """A venue pin as its title, address and point."""
        sent = next((m for m in self.emu.messages_to(entry.chat_id) if m.message_id == entry.message_id), None)
        venue = sent.media.get("venue") if sent is not None else None
        if not venue:
            return "(a map pin)"
        point = venue["location"]
        return f"{venue['title']} · {venue['address']} ({point['latitude']}, {point['longitude']})"


def _buttons(markup: dict[str, Any] | None) -> str:
    if not markup:
        return ""
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    labels = [button.get("text", "") for row in rows for button in row]
    return ("\n      " + " ".join(f"[{label}]" for label in labels)) if labels else ""


async def _until(emu: BotApiEmulator, narrator: Narrator, predicate: Callable[[], Any],
                 idle: Callable[[], bool] | None = None) -> Any:
    """Wait for ``predicate``, then until the bot has nothing left to send for this step (its inbox handled,
    its outbox empty), and print what it sent: every message appears under the step that caused it."""
    result = await emu.wait_for(predicate, timeout=STEP_TIMEOUT)
    if idle is not None:  # the database changes without the emulator hearing of it: poll
        for _ in range(int(STEP_TIMEOUT / IDLE_POLL)):
            if idle():
                break
            await asyncio.sleep(IDLE_POLL)
    await asyncio.sleep(0.2)  # a send in flight when the outbox emptied
    narrator.flush()
    return result


def _idle_check(engine: Any) -> Callable[[], bool]:
    """True once every stored update is handled and every queued message is sent or given up."""
    from sqlmodel import func, select

    from cases.db import session_scope
    from cases.models import InboxUpdate, OutboxMessage

    def idle() -> bool:
        with session_scope(engine) as session:
            waiting = session.exec(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.sent_at == None, OutboxMessage.failed_at == None)).one()  # noqa: E711
            pending = session.exec(select(func.count()).select_from(InboxUpdate).where(
                InboxUpdate.processed_at == None)).one()  # noqa: E711
        return int(waiting) == 0 and int(pending) == 0

    return idle


def _has_text(emu: BotApiEmulator, chat_id: int, fragment: str) -> Callable[[], bool]:
    def check() -> bool:
        return any(fragment in (m.text or "") for m in emu.messages_to(chat_id) if m.from_bot)

    return check


async def play(out: TextIO, workdir: Path, console_port: int | None = None) -> int:
    """Run the story; returns the number of the ticket it created. With ``console_port`` the bot and the web
    console keep running on the demo database afterwards (a login link for the leader is printed) until Ctrl-C."""
    from bot.app import build_app
    from bot.render import event_line
    from cases.db import session_scope
    from cases.models import Ticket
    from cases.services.people import create_invite
    from cases.services.tickets import history
    from cases.settings import Settings

    names = {RESIDENT: "陈阿姨 (resident)", WANG: "王师傅 (worker)", LI: "李师傅 (worker)",
             ZHANG: "张主任 (community leader)"}
    async with BotApiEmulator(token=DEMO_TOKEN) as emu:
        narrator = Narrator(emu, out, names)
        for user_id, first_name in ((RESIDENT, "陈阿姨"), (WANG, "王师傅"), (LI, "李师傅"), (ZHANG, "张主任")):
            emu.add_user(user_id, first_name, language_code="zh-hans")
        db = workdir / "demo.db"
        settings = Settings(token=DEMO_TOKEN, api_base_url=emu.base_url, database_url=f"sqlite:///{db}",
                            rules=str(RULES), sweep_seconds=3600)
        app = build_app(settings)
        narrator.emit(f"Gridbot demo · Bot API emulator at {emu.base_url.rsplit('/', 1)[0]} · database {db}")
        narrator.emit(f"rules: {settings.rules} ({len(app.rules.grids)} grids, {len(app.rules.categories)} categories)")
        await app.runtime.start()
        idle = _idle_check(app.engine)
        try:
            codes = {}
            with session_scope(app.engine) as session:
                now = app.runtime.clock()
                for user_id, role, area in ((WANG, "worker", "taizimiao-1"), (LI, "worker", "taizimiao-1"),
                                            (ZHANG, "leader", "taizimiao")):
                    codes[user_id] = create_invite(session, role=role, scope=area, expires_in=timedelta(days=7),
                                                   now=now, rules=app.rules)
                    narrator.admin(f"gridbot invite --role {role} --area {area}   →  {codes[user_id]}")
            for user_id, code in codes.items():
                narrator.user(user_id, f"/join {code}")
                emu.send_text(user_id, f"/join {code}")
                await _until(emu, narrator, _has_text(emu, user_id, "欢迎加入"), idle)

            narrator.user(RESIDENT, "/start")
            emu.send_text(RESIDENT, "/start")
            await _until(emu, narrator, _has_text(emu, RESIDENT, "您好"), idle)

            report = "我家水管爆了，地板都是水！"
            narrator.user(RESIDENT, report)
            emu.send_text(RESIDENT, report)
            await _until(emu, narrator, _has_text(emu, RESIDENT, "直接共享位置"), idle)

            narrator.user(RESIDENT, f"📍 shares a location ({POINT[0]}, {POINT[1]})")
            emu.send_location(RESIDENT, *POINT)
            await _until(emu, narrator, lambda: emu.find_button(WANG, "✋ 认领") and emu.find_button(LI, "✋ 认领"),
                         idle)

            narrator.emit("\n⚡ 王师傅 and 李师傅 press ✋ 认领 at the same instant")
            queries = [emu.click(WANG, WANG, "✋ 认领"), emu.click(LI, LI, "✋ 认领")]
            await _until(emu, narrator, lambda: all(emu.callbacks[q].answered for q in queries)
                         and _has_text(emu, RESIDENT, "认领，正在处理")(), idle)
            for q in queries:
                record = emu.callbacks[q]
                narrator.emit(f"   🔔 {names[record.user_id]} sees: {record.answer_text or '✓'}")

            with session_scope(app.engine) as session:
                ticket = session.get(Ticket, 1)
                assert ticket is not None and ticket.claimed_by is not None
                from cases.models import Person

                winner_person = session.get(Person, ticket.claimed_by)
                assert winner_person is not None
                winner = winner_person.telegram_id
            narrator.user(winner, "presses ✅ 处理完毕")
            emu.click(winner, winner, "✅ 处理完毕")
            await _until(emu, narrator, _has_text(emu, winner, "处理说明"), idle)
            note = "已关闭总阀，更换了爆裂的水管，地面已清理干净。"
            narrator.user(winner, note)
            emu.send_text(winner, note)
            await _until(emu, narrator, lambda: emu.find_button(RESIDENT, "✅ 已解决"), idle)

            narrator.user(RESIDENT, "presses ✅ 已解决")
            emu.click(RESIDENT, RESIDENT, "✅ 已解决")
            await _until(emu, narrator, lambda: emu.find_button(RESIDENT, "⭐⭐⭐⭐⭐"), idle)
            narrator.user(RESIDENT, "presses ⭐⭐⭐⭐⭐")
            emu.click(RESIDENT, RESIDENT, "⭐⭐⭐⭐⭐")
            await _until(emu, narrator, _has_text(emu, RESIDENT, "感谢您的评价"), idle)

            with session_scope(app.engine) as session:
                ticket = session.get(Ticket, 1)
                assert ticket is not None
                narrator.emit(f"\n📋 ticket {ticket.number}: status={ticket.status} category={ticket.category} "
                              f"grid={ticket.area} rating={ticket.rating}")
                why = str(ticket.explanation.get("explanation_text", ""))
                narrator.emit("   routing: " + why.replace("\n", "\n            "))
                for event in history(session, 1):
                    narrator.emit(f"   · {event_line(app.rules, event, 'zh')}")
            stats = emu.stats()
            narrator.emit(f"\nemulator: {stats['sent_messages']} messages sent, "
                          f"{len(stats['duplicates'])} duplicates, {len(stats['rate_violations'])} rate violations, "
                          f"{stats['unanswered_callbacks']} unanswered button presses")
            if console_port is not None:
                await _console(app, narrator, console_port)
            return 1
        finally:
            await app.runtime.stop()


async def _console(app: Any, narrator: Narrator, port: int) -> None:
    """Serve the console on the demo database and print the leader's login link; return on Ctrl-C."""
    import signal

    from cases.db import session_scope
    from cases.services.people import find_person
    from cases.services.web_access import issue_login
    from web.serving import server, web_config

    settings = app.settings.model_copy(update={"web_url": f"http://127.0.0.1:{port}"})
    config = web_config(settings, app.engine, app.rules, ctx=app.ctx)
    with session_scope(app.engine) as session:
        leader = find_person(session, ZHANG)
        assert leader is not None
        credential = issue_login(session, person=leader, secret=config.secret, now=app.runtime.clock())
    web = server(config, "127.0.0.1", port, embedded=True)
    task = asyncio.create_task(web.serve())
    narrator.emit(f"\n🖥  console: http://127.0.0.1:{port}/login/{credential}  (张组长, once, 10 minutes)")
    narrator.emit(f"   Open311: http://127.0.0.1:{port}/open311/v2/requests.json · Ctrl-C to stop")
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    try:
        await done.wait()
    finally:
        web.should_exit = True
        await task


def run_demo(out: TextIO, keep: Path | None = None, console_port: int | None = None) -> int:
    """Play the story in a temporary directory, or in ``keep``: then the database stays, a month of tickets
    is seeded into it, and the admin commands to try on it are printed. With ``console_port`` (and a terminal
    to stop it from) the bot and the console keep serving the demo database until Ctrl-C. Returns the exit code."""
    if console_port is not None and not sys.stdin.isatty():
        print("(the web console is served only when the demo runs in a terminal: "
              "`gridbot demo --console PORT` there, or `gridbot web` on a kept database)", file=out)
        console_port = None
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="gridbot-demo-") as tmp:
            asyncio.run(play(out, Path(tmp), console_port))
        return 0
    keep.mkdir(parents=True, exist_ok=True)
    db = keep / "demo.db"
    if db.exists():
        print(f"{db} exists already; give --keep an empty or new folder", file=out)
        return 1
    asyncio.run(play(out, keep, console_port))
    seed_kept(out, db)
    return 0


def seed_kept(out: TextIO, db: Path, *, days: int = 30) -> None:
    """Add a month of tickets to the kept demo database and print what to try on it."""
    from cases.clock import utcnow
    from cases.db import make_engine
    from cases.rules.loader import load_rules
    from cases.seed import seed_month

    rules = load_rules(RULES)
    engine = make_engine(f"sqlite:///{db}")
    try:
        report = seed_month(engine, rules, end=utcnow(), days=days)
    finally:
        engine.dispose()
    area = rules.root
    print(KEPT.format(db=db.resolve(), rules=RULES, tickets=report.tickets, days=days, area=area), file=out)


KEPT = """
The database is kept: {db}
It also holds {tickets} seeded tickets of the last {days} days in every state over the bundled district. Try:

  export GRIDBOT_DATABASE_URL=sqlite:///{db}
  export GRIDBOT_RULES={rules}
  gridbot tickets list --status claimed        # who holds what
  gridbot tickets show 1                       # the demo's ticket and its whole history
  gridbot digest --area {area:<19}# this morning's overdue digest (--lang en, --format png -o d.png)
  gridbot sweep --dry-run                      # what the deadline sweep would do now
  gridbot status                               # health: inbox, outbox, overdue tickets
  gridbot tickets export --format xlsx -o tickets.xlsx
"""
