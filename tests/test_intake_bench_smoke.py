"""The intake benchmark runs end to end at a tiny size and prints its table (no timing assertions)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.intake_bench import percentile

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^(?P<name>.+?)\s+(?P<rate>\d+\.\d)\s+(?P<p50>\d+\.\d)\s+(?P<p99>\d+\.\d)\s+"
                 r"(?P<ratio>\d+\.\d\d)\s+(?P<cpu>\d+\.\d\d)\s+(?P<naive>\d+\.\d\d)$")


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0
    assert percentile(list(map(float, range(1, 101))), 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


@pytest.mark.slow
def test_benchmark_prints_the_side_by_side_table() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.intake_bench", "--messages", "20", "--users", "10", "--deadline", "120",
         "--runs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    assert "20 messages from 10 residents" in out
    rows = {m["name"].strip(): m for m in map(ROW.match, out.splitlines()) if m}
    assert set(rows) == {"ptb echo: echo sent", "ptb echo + copy: both sent", "naive ticket bot: both sent",
                         "gridbot: ticket committed", "gridbot: worker notified", "gridbot: resident answered",
                         "gridbot: both delivered", "gridbot+sender process: ticket committed",
                         "gridbot+sender process: worker notified", "gridbot+sender process: resident answered",
                         "gridbot+sender process: both delivered"}, out
    for row in rows.values():
        assert float(row["rate"]) > 0 and float(row["ratio"]) > 0 and float(row["cpu"]) > 0
        assert 0 <= float(row["p50"]) <= float(row["p99"])
    assert float(rows["ptb echo: echo sent"]["ratio"]) == 1.0
    assert float(rows["naive ticket bot: both sent"]["naive"]) == 1.0
    for target in (r"ticket committed >= 0\.75 x ptb echo", r"both delivered >= 0\.5 x ptb echo",
                   r"both delivered >= 1 x naive ticket bot"):
        assert re.search(rf"target gridbot: {target}: \d+\.\d\d x, (met|NOT met)", out), out
        assert re.search(rf"target gridbot: {target}: median \d+\.\d\d x, (met|NOT met)", out), out
    assert "over 1 runs, min/median/max" in out
    assert re.search(r"target gridbot\+sender process: both delivered >= 0\.5 x ptb echo: median \d+\.\d\d x", out)
    child = re.search(r"gridbot\+sender process's CPU per report: (\d+\.\d\d) ms in gridbot's process \(of which "
                      r"(\d+\.\d\d) ms in the event loop's thread\), (\d+\.\d\d) ms in the sender process, "
                      r"(\d+\.\d\d) ms over both", out)
    assert child and float(child[3]) > 0 and float(child[4]) > float(child[1]), out
    assert re.search(r"copying each message to a second chat, with no database, reaches \d+\.\d\d x echo", out)
    ceiling = re.search(r"with no network .*: (\d+\.\d) msg/s, (\d+\.\d\d) ms per report \((\d+\.\d\d) ms CPU\)", out)
    assert ceiling and float(ceiling[1]) > 0 and float(ceiling[2]) > 0 and float(ceiling[3]) > 0, out
    assert re.search(r"budget at 0\.5 x echo: \d+\.\d\d ms per report; "
                     r"sending two messages takes \d+\.\d\d ms CPU", out)


@pytest.mark.slow
def test_a_paced_run_prints_the_steady_load_target_and_where_the_cpu_went() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.intake_bench", "--messages", "20", "--users", "10", "--rate", "20",
         "--deadline", "120", "--runs", "1", "--sender-process", "off"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    assert "20 messages from 10 residents paced at 20/s" in out, out
    target = r"target gridbot: worker notified p99 <= 3 x ptb echo p99: "
    assert re.search(target + r"\d+\.\d\d x, (met|NOT met)", out), out
    assert re.search(target + r"median \d+\.\d\d x, (met|NOT met)", out), out
    assert re.search(r"p99 of gridbot: worker notified over ptb echo's p99: \d+\.\d\d/\d+\.\d\d/\d+\.\d\d", out), out
    split = re.search(r"gridbot's CPU per report: (\d+\.\d\d) ms in its process, of which (\d+\.\d\d) ms in the "
                      r"event loop's thread", out)
    assert split and 0 < float(split[2]) < float(split[1]), out
    assert "target gridbot: ticket committed >= 0.75" not in out, "the burst targets are not judged on a paced run"
