"""Supervision of the bot's long-lived tasks: outages are retried with a capped back-off and one log line
each; a bug takes the lease and the process down; nothing is sent without a proven lease."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.ptb import make_bot
from bot.receiver import PollingReceiver
from bot.runtime import Runtime
from bot.sender import OutboxSender, _Job
from bot.sending import queue_message
from bot.supervise import BACKOFF_CAP, Backoff, is_outage, supervise
from cases import leader
from cases.db import session_scope
from cases.leader import LeaseLost
from cases.settings import Settings
from emulator import BotApiEmulator

pytestmark = [pytest.mark.filterwarnings("ignore:Please use 'Bot.:telegram.warnings.PTBUserWarning")]

TOKEN = "4343:SUPERVISE-token"
ALICE = 6001


def _db_error(kind: type[Exception]) -> Exception:
    return kind("SELECT 1", {}, Exception("boom"))  # type: ignore[call-arg]


def test_outages_are_told_from_bugs() -> None:
    assert is_outage(_db_error(OperationalError)), "the database is unreachable"
    assert is_outage(LeaseLost("lease gone"))
    assert is_outage(NetworkError("connection reset")) and is_outage(TimedOut())
    assert is_outage(ConnectionRefusedError())
    assert not is_outage(_db_error(IntegrityError)), "a constraint is the data's fault, not an outage"
    assert not is_outage(_db_error(DataError)), "a NUL character is the data's fault"
    assert not is_outage(BadRequest("chat not found"))
    assert not is_outage(ValueError("a bug"))


def test_every_back_off_is_capped_at_a_few_seconds_and_starts_over_after_a_success() -> None:
    backoff = Backoff()
    delays = [backoff.failure() for _ in range(30)]
    assert max(delays) <= BACKOFF_CAP <= 5.0 and delays[0] <= 0.5
    backoff.success()
    assert backoff.failure() <= 0.5
    receiver = PollingReceiver(make_bot(Settings(token=TOKEN)), None)  # type: ignore[arg-type]
    assert max(receiver.retry_delay(n) for n in range(1, 30)) <= 5.0, "polling resumes within seconds"
    sender = OutboxSender(None, make_bot(Settings(token=TOKEN)))  # type: ignore[arg-type]
    job = _Job(id=1, chat_id=ALICE, method="sendMessage", payload={}, attempts=12)
    assert sender._backoff(job) <= 5.0, "a message retried after an outage waits seconds, not minutes"


async def test_supervise_restarts_after_an_outage_and_reports_a_bug(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    deaths: list[BaseException] = []

    async def flaky() -> None:
        calls.append(len(calls))
        if len(calls) <= 3:
            raise _db_error(OperationalError)

    with caplog.at_level(logging.WARNING, logger="bot.supervise"):
        await supervise("flaky", flaky, stopping=lambda: False, on_death=deaths.append,
                        backoff=Backoff(base=0.01, cap=0.05))
    assert (len(calls), deaths) == (4, []), "restarted after each of three outages, then it ended normally"
    assert len([r for r in caplog.records if "flaky: OperationalError" in r.getMessage()]) == 3, "a line each"

    async def buggy() -> None:
        raise ValueError("a bug")

    await asyncio.wait_for(supervise("buggy", buggy, stopping=lambda: False, on_death=deaths.append), 5)
    assert [str(d) for d in deaths] == ["a bug"]


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as e:
        e.add_user(ALICE, started=True)
        yield e


async def test_a_task_that_dies_releases_the_lease_and_stops_the_runtime(emu: BotApiEmulator, engine: Engine) -> None:
    """Before: the dead processor went unnoticed and the lease task kept renewing, so nobody took over."""
    settings = Settings(token=TOKEN, api_base_url=emu.base_url)
    rt = Runtime(settings, engine, None, lambda session, update, *, now: None, holder="p1", lease_ttl=30,
                 poll_timeout=1, processor_options={"poll_interval": 0.05})
    await rt.start()
    try:
        assert rt.is_leader
        with session_scope(engine) as session:
            session.execute(text("INSERT INTO inbox_update (update_id, chat_id, payload, received_at, attempts) "
                                 "VALUES (1, NULL, '\"not an update\"', :now, 0)"), {"now": datetime.now(UTC)})
        assert rt.processor is not None
        rt.processor.wake()
        await emu.wait_for(lambda: rt.failure is not None and not rt.is_leader and rt._dying is not None
                           and rt._dying.done(), timeout=20)
        assert isinstance(rt.failure, ValueError)
        with session_scope(engine) as session:
            assert session.execute(text("SELECT count(*) FROM scheduler_lock")).scalar() == 0, "lease released"
    finally:
        await rt.stop()


async def test_nothing_is_sent_while_the_lease_is_not_proven(emu: BotApiEmulator, engine: Engine) -> None:
    """A leader frozen past its lease wakes up with rows it had loaded: it must not send them."""
    proven = False
    bot = make_bot(Settings(token=TOKEN, api_base_url=emu.base_url))
    await bot.initialize()
    try:
        sender = OutboxSender(engine, bot, poll_interval=0.05, may_send=lambda: proven)
        with session_scope(engine) as session:
            queue_message(session, chat_id=ALICE, text="hello", now=datetime.now(UTC))
        assert await sender.send_pending() == (0, 0.05)
        await asyncio.sleep(0.1)
        assert emu.sent_count == 0
        proven = True
        started, _ = await sender.send_pending()
        assert started == 1
        await emu.wait_for(lambda: emu.sent_count == 1, timeout=10)
    finally:
        sender.stop()
        await asyncio.gather(*sender._tasks)
        await bot.shutdown()


def test_leader_work_of_a_replaced_leader_is_rolled_back(engine: Engine) -> None:
    """The runtime's fence: with the lease taken over, the old leader's transaction does not commit."""
    with session_scope(engine) as session:
        assert leader.try_acquire(session, holder="old", ttl=30, now=leader.database_now(session))
    with session_scope(engine) as session:
        past = datetime(2000, 1, 1, tzinfo=UTC)
        session.execute(text("UPDATE scheduler_lock SET expires_at = :past"), {"past": past})
    with session_scope(engine) as session:
        assert leader.try_acquire(session, holder="new", ttl=30, now=leader.database_now(session))
    from cases.db import COMMIT_GUARD

    token = COMMIT_GUARD.set(leader.fence(holder="old", epoch=1))
    try:
        with pytest.raises(LeaseLost), session_scope(engine) as session:
            queue_message(session, chat_id=ALICE, text="from the old leader", now=datetime.now(UTC))
    finally:
        COMMIT_GUARD.reset(token)
    with session_scope(engine) as session:
        assert session.execute(text("SELECT count(*) FROM outbox_message")).scalar() == 0


async def test_a_live_lease_is_never_taken_by_judging_its_holder_dead_by_pid(emu: BotApiEmulator,
                                                                            engine: Engine) -> None:
    """A holder named after a PID of this host that does not exist here (another PID namespace, another
    container with the same host name) still leads until its lease runs out by the database's clock."""
    import socket

    pid = 4_000_000
    while _exists(pid):
        pid += 1
    other = f"{socket.gethostname()}:{pid}:abcdef"
    with session_scope(engine) as session:
        assert leader.try_acquire(session, holder=other, ttl=30, now=leader.database_now(session))
    settings = Settings(token=TOKEN, api_base_url=emu.base_url)
    rt = Runtime(settings, engine, None, lambda session, update, *, now: None, holder="here", lease_ttl=30,
                 poll_timeout=1)
    await rt.start()
    try:
        assert not rt.is_leader
        with session_scope(engine) as session:
            assert leader.current_holder(session, now=leader.database_now(session)) == other
    finally:
        await rt.stop()


def _exists(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
