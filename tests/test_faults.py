"""The fault-injection suite: real ``gridbot run`` processes against the Bot API emulator, on a PostgreSQL
that the test stops and starts, behind proxies it cuts, frozen with SIGSTOP, or crashed.

Each scenario prints one line of figures (reports, tickets, sends, repeats, rate violations, seconds to
recover) and fails on any loss, doubled ticket, repeated send, rate violation or silent stop.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot_process import wait_until
from tests.faults_kit import PgServer, pg_bin
from tests.faults_kit import scenario as make_scenario

REQUIRE_PG = os.environ.get("GRIDBOT_REQUIRE_PG") == "1"  # CI: missing binaries are a failure, not a skip
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.faults,
              pytest.mark.skipif(pg_bin() is None and not REQUIRE_PG,
                                 reason="PostgreSQL server binaries (initdb, pg_ctl) are not installed")]

TOKEN = "515151:FAULTS-suite-token"
WAIT = 60.0


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    server = PgServer()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


def test_a_postgres_outage_of_4_to_9_seconds_is_survived(pg: PgServer, tmp_path: Path) -> None:
    """PostgreSQL stops (every connection cut) for 4–9 s between two lease renewals: the inbox processor and
    the outbox sender back off and resume; the lease never lapses; every report becomes one ticket."""
    with make_scenario("postgres outage", pg, tmp_path, token=TOKEN) as (world, _):
        world.add_residents(20, 810_000)
        bot = world.start_bot(lease_seconds=30)
        world.report(20)
        wait_until(world.all_done, WAIT, "the first 20 reports handled")
        world.report(10)
        outage = random.uniform(4, 9)
        pg.stop()
        world.report(20)  # arrive while the database is down: fetched, not stored, fetched again later
        time.sleep(outage)
        pg.start()
        back = time.monotonic()
        wait_until(lambda: world.tickets() >= len(world.sent), WAIT, "every report of the outage a ticket")
        recovered = time.monotonic() - back
        world.report(10)
        wait_until(world.all_done, WAIT, "everything answered after the outage")
        assert bot.process.poll() is None, "the bot must keep running through a database outage"
        print(f"\n[fault] postgres was down {outage:.1f} s")
        world.check(recovered)


def test_a_frozen_leader_does_not_act_beside_the_new_one(pg: PgServer, tmp_path: Path) -> None:
    """Two processes on one database. The leader is frozen (SIGSTOP) past its lease while the second takes
    over, then resumes (SIGCONT): it must not send beside the new leader (no repeats, no rate violations).
    Then the new leader is killed -9 and the first takes over again."""
    with make_scenario("frozen leader", pg, tmp_path, token=TOKEN) as (world, _):
        world.add_residents(12, 820_000)
        first = world.start_bot(lease_seconds=3)
        wait_until(lambda: world.leader() is first, WAIT, "the first process to lead")
        second = world.start_bot(lease_seconds=3)
        wait_until(lambda: "gridbot running" in second.log_text(), WAIT, "the second process to run")
        world.report(36)  # three each: replies queue behind the 1-per-second limit of every chat
        wait_until(lambda: world.emu.sent_count >= 6, WAIT, "replies under way")
        time.sleep(random.uniform(0, 0.5))
        first.process.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        in_flight = world.in_flight()
        world.report(12)
        wait_until(lambda: world.leader() is second, WAIT, "the second process to take over")
        took_over = time.monotonic() - frozen
        time.sleep(0.5)  # the new leader gets going before the old one wakes
        first.process.send_signal(signal.SIGCONT)
        world.report(12)
        wait_until(world.all_done, WAIT, "everything answered")
        assert first.process.poll() is None and second.process.poll() is None
        assert world.leader() is second
        # Then kill -9 the new leader at a random moment while replies go out: the old one takes over when the
        # lease runs out (no PID is judged), and only what was in flight at the kill may go out again.
        world.report(24)
        wait_until(lambda: world.emu.sent_count >= len(world.sent) - 20, WAIT, "replies under way again")
        time.sleep(random.uniform(0, 1))
        second.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        at_kill = world.in_flight()
        world.report(12)
        wait_until(lambda: world.leader() is first, WAIT, "the first process to lead again")
        took_back = time.monotonic() - killed
        wait_until(world.all_done, WAIT, "everything answered after the kill")
        print(f"\n[fault] frozen {took_over + 0.5:.1f} s, taken over after {took_over:.1f} s; "
              f"the new leader killed -9, taken back after {took_back:.1f} s")
        world.check(max(took_over, took_back), in_flight=(in_flight[0] + at_kill[0], at_kill[1]))


def test_a_task_that_dies_takes_the_lease_and_the_process_down(pg: PgServer, tmp_path: Path) -> None:
    """An unexpected error kills the inbox processor (an update whose payload is not an object stands for a
    bug): the process releases the lease and exits non-zero instead of renewing it with dead work loops,
    and the next process leads at once."""
    with make_scenario("task crash", pg, tmp_path, token=TOKEN) as (world, _):
        world.add_residents(10, 830_000)
        first = world.start_bot(lease_seconds=30)
        world.report(10)
        wait_until(world.all_done, WAIT, "the first reports handled")
        with __import__("psycopg").connect(world.dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO inbox_update (update_id, chat_id, payload, received_at, attempts) "
                         "VALUES (999999999, NULL, '\"poison\"', now(), 0)")
        crashed = time.monotonic()
        wait_until(lambda: first.process.poll() is not None, WAIT, "the process with a dead task to exit")
        exited = time.monotonic() - crashed
        assert first.process.returncode != 0, "a task's death must be a failure for systemd to see"
        assert world.lease_holder() is None, "the lease was released, not left to run out"
        with __import__("psycopg").connect(world.dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM inbox_update WHERE update_id = 999999999")  # the operator's fix
        world.report(10)
        second = world.start_bot(lease_seconds=30)
        wait_until(world.all_done, WAIT, "the next process to handle the rest")
        assert world.leader() is second
        assert "died" in first.log_text()
        print(f"\n[fault] exited {exited:.1f} s after the fault")
        world.check(exited)


def test_the_bot_api_coming_back_is_noticed_within_seconds(pg: PgServer, tmp_path: Path) -> None:
    """The connection to the Bot API is cut for 6 s while reports arrive and replies wait: once it is back,
    polling and sending resume within a few seconds (back-off capped, reset on success)."""
    with make_scenario("bot api outage", pg, tmp_path, token=TOKEN, api_proxy=True) as (world, proxy):
        assert proxy is not None
        world.add_residents(15, 840_000)
        bot = world.start_bot(lease_seconds=30)
        world.report(15)
        wait_until(world.all_done, WAIT, "the first reports handled")
        world.report(15)
        time.sleep(0.3)
        proxy.cut()
        world.report(15)
        time.sleep(6)
        proxy.restore()
        back = time.monotonic()
        wait_until(world.all_done, WAIT, "everything answered after the outage")
        recovered = time.monotonic() - back
        assert bot.process.poll() is None
        world.check(recovered)
