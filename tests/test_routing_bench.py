"""Smoke tests of the routing benchmark and its rules generator (tiny sizes, no timing assertions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import routing_bench
from benchmarks.gen_rules import generate, write
from cases.routing import Report, route
from cases.rules.loader import load_rules
from cases.rules.schema import Rules


def test_generated_rules_have_the_requested_size(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path / "big.yaml", keywords=120, grids=45))
    assert sum(len(c.keywords) for c in rules.categories.values()) == 120
    assert len(rules.grids) == 45 and all(rules.areas[g].boundary for g in rules.grids)
    assert generate(keywords=120, grids=45) == generate(keywords=120, grids=45)  # deterministic


def test_generated_rules_route(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path / "big.yaml", keywords=100, grids=30))
    keyword = rules.categories["cat03"].keywords[0]
    boundary = rules.areas["g7"].boundary
    assert boundary is not None
    lon, lat = boundary[0]
    decision = route(Report(f"请看 {keyword}", lat + 0.002, lon + 0.002), rules)
    assert (decision.category, decision.area) == ("cat03", "g7")


def test_naive_baseline_agrees_on_plain_messages(rules: Rules) -> None:
    naive = routing_bench.Naive(rules)
    assert naive.route(Report("水管爆了 金鹗小区")) == ("water", "taizimiao-1")
    assert naive.route(Report("垃圾", 29.361, 113.112)) == ("garbage", "yunmeng-2")


def test_benchmark_runs_and_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    results = routing_bench.main(["--messages", "40", "--naive-messages", "10", "--keywords", "60", "--grids", "20",
                                  "--examples", "120"])
    assert [(r.method, r.messages) for r in results] == [("indexed", 40), ("combined", 40), ("naive", 10)] * 2
    assert all(r.per_second > 0 and r.p99_ms >= r.p50_ms for r in results)
    out = capsys.readouterr().out
    assert "x the naive throughput" in out and "large (60 kw, 20 grids)" in out
    assert "model trained on" in out and "bundled held-out split" in out and "emergency recall" in out


def test_repeated_runs_print_min_median_max(capsys: pytest.CaptureFixture[str]) -> None:
    routing_bench.main(["--messages", "20", "--naive-messages", "5", "--keywords", "40", "--grids", "10",
                        "--examples", "80", "--repeat", "2"])
    out = capsys.readouterr().out
    assert "over 2 runs" in out and out.count("x the naive throughput") == 2 * 2 * 2
