"""Routing benchmark: indexed ``route()`` against a naive baseline, on the bundled and a large rules file.

Run: ``.venv/bin/python -m benchmarks.routing_bench [--messages 3000] [--keywords 1000] [--grids 500] [--repeat 3]``.

Three methods: ``indexed`` (keywords alone), ``combined`` (keywords + the trained classifier, as the bot routes;
for the large rules the classifier is trained on ``--examples`` generated labelled messages) and ``naive``.
Model build time, peak memory and size are printed, then the quality on the bundled held-out split and on
every ``benchmarks/data/*_eval.tsv`` set.

The naive baseline is what one would write without an index: ``fuzz.partial_ratio`` of every keyword
against the message, then a shapely ``contains`` test of every grid polygon (or, without a point,
``partial_ratio`` of every place name). Both run over the same generated messages (Chinese and
English, exact, typo'd and traditional keywords, no keyword at all; a point, a place name or nothing)
in the same process. Reported: messages per second and p50/p99 latency per message.
"""

from __future__ import annotations

import argparse
import pickle
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz
from shapely.geometry import Point, Polygon

from benchmarks.gen_rules import write
from cases.routing import Report, RoutingIndex, route
from cases.routing.evaluate import evaluate, format_evaluation
from cases.routing.examples import Example, read_examples, split
from cases.routing.model import RoutingModel
from cases.routing.model_store import bundled_examples, train_for
from cases.rules.loader import load_rules
from cases.rules.schema import Rules

ROOT = Path(__file__).resolve().parent.parent
_FILLER_ZH = ["我家", "楼下", "今天早上", "已经好几天了", "请尽快处理", "谢谢", "麻烦看一下", "邻居说"]
_FILLER_EN = ["please help", "since this morning", "in our building", "for two days", "thanks", "again"]
_TRADITIONAL = str.maketrans("灯坏门车东电气楼区圾发头", "燈壞門車東電氣樓區圾發頭")


@dataclass(frozen=True)
class Result:
    """One row of the table."""

    rules: str
    method: str
    messages: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    """CPU time per message (robust to other processes on a busy machine, unlike the wall-clock columns)."""


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 6 or not word.isascii():
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def messages(rules: Rules, count: int, seed: int = 1) -> list[Report]:
    """Realistic-looking reports built from ``rules``' own keywords, places and polygons."""
    return [report for report, _ in labelled(rules, count, seed)]


def labelled(rules: Rules, count: int, seed: int = 1) -> list[tuple[Report, str]]:
    """:func:`messages` with the category of the keyword each was built from (``other`` when none)."""
    rng = random.Random(seed)
    owner = {k: c for c, cat in rules.categories.items() for k in cat.keywords}
    keywords = sorted(owner)
    places = sorted(p for g in rules.grids for p in rules.areas[g].places)
    boxes = [rules.areas[g].boundary for g in rules.grids if rules.areas[g].boundary]
    reports: list[tuple[Report, str]] = []
    for _ in range(count):
        kind = rng.random()
        parts = [rng.choice(_FILLER_ZH if rng.random() < 0.5 else _FILLER_EN)]
        category = "other"
        if kind < 0.8 and keywords:
            word = rng.choice(keywords)
            category = owner[word]
            if kind < 0.15:
                word = _typo(word, rng)
            elif kind < 0.25:
                word = word.translate(_TRADITIONAL)
            parts.append(word)
        parts.append(rng.choice(_FILLER_ZH + _FILLER_EN))
        lat = lon = None
        where = rng.random()
        if where < 0.5 and boxes:
            box = rng.choice(boxes)
            assert box is not None
            lons, lats = [p[0] for p in box], [p[1] for p in box]
            lon, lat = rng.uniform(min(lons), max(lons)), rng.uniform(min(lats), max(lats))
        elif where < 0.85 and places:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(places))
        reports.append((Report(" ".join(parts), lat, lon), category))
    return reports


class Naive:
    """The baseline: a Python loop over every keyword, every polygon and every place name."""

    def __init__(self, rules: Rules) -> None:
        self.keywords = [(k.casefold(), c) for c, cat in rules.categories.items() for k in cat.keywords]
        self.polygons = [(g, Polygon(rules.areas[g].boundary)) for g in rules.grids if rules.areas[g].boundary]
        self.places = [(p.casefold(), g) for g in rules.grids for p in rules.areas[g].places]

    def route(self, report: Report) -> tuple[str, str | None]:
        """Best category by partial_ratio, grid by contains (else by place-name partial_ratio)."""
        text = report.text.casefold()
        category, best = "other", 80.0
        for keyword, cat in self.keywords:
            score = fuzz.partial_ratio(keyword, text)
            if score > best:
                category, best = cat, score
        grid: str | None = None
        if report.lat is not None and report.lon is not None:
            point = Point(report.lon, report.lat)
            grid = next((g for g, polygon in self.polygons if polygon.contains(point)), None)
        if grid is None:
            best = 80.0
            for place, g in self.places:
                score = fuzz.partial_ratio(place, text)
                if score > best:
                    grid, best = g, score
        return category, grid


def _measure(name: str, method: str, run: Callable[[Report], object], reports: list[Report]) -> Result:
    for report in reports[:50]:  # warm caches
        run(report)
    latencies: list[float] = []
    clock = time.perf_counter
    cpu = time.process_time()
    started = clock()
    for report in reports:
        t0 = clock()
        run(report)
        latencies.append(clock() - t0)
    elapsed = clock() - started
    cpu_ms = (time.process_time() - cpu) / len(reports) * 1e3
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Result(name, method, len(reports), len(reports) / elapsed, statistics.median(latencies) * 1e3, p99 * 1e3,
                  cpu_ms)


def build_model(name: str, rules: Rules, examples: list[Example]) -> RoutingModel:
    """Train the classifier for ``rules``, printing its build time (wall and CPU), the growth of the process's
    peak memory (RSS) and the pickled size."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    model = train_for(rules, examples)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    size = len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"{name}: model trained on {model.trained_on} examples in {seconds:.1f} s ({cpu_seconds:.1f} s CPU), "
          f"peak RSS grew {grown / 1024:.0f} MiB, pickled {size / 2**20:.1f} MiB; held-out {model.held_out}")
    return model


def bench(name: str, rules: Rules, count: int, naive_count: int, seed: int = 1,
          model: RoutingModel | None = None) -> list[Result]:
    """Indexed (keywords only), combined (keywords + classifier) and naive results for one rules file."""
    reports = messages(rules, count, seed)
    started = time.perf_counter()
    index = RoutingIndex.build(rules)
    build_ms = (time.perf_counter() - started) * 1e3
    print(f"{name}: index built in {build_ms:.0f} ms")
    naive = Naive(rules)
    results = [_measure(name, "indexed", lambda r: route(r, rules, index=index), reports)]
    if model is not None:
        results.append(_measure(name, "combined", lambda r: route(r, rules, model, index), reports))
    results.append(_measure(name, "naive", naive.route, reports[:naive_count]))
    return results


def table(results: list[Result]) -> str:
    """The results side by side with the throughput ratio per rules file."""
    lines = [f"{'rules':<28} {'method':<8} {'messages':>8} {'msg/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>8}"]
    for r in results:
        lines.append(f"{r.rules:<28} {r.method:<8} {r.messages:>8} {r.per_second:>10.0f} "
                     f"{r.p50_ms:>8.3f} {r.p99_ms:>8.3f} {r.cpu_ms:>8.3f}")
    for name in dict.fromkeys(r.rules for r in results):
        slow = next(r for r in results if r.rules == name and r.method == "naive")
        for fast in (r for r in results if r.rules == name and r.method != "naive"):
            lines.append(f"{name}: {fast.method} is {fast.per_second / slow.per_second:.1f}x the naive throughput "
                         f"({slow.cpu_ms / fast.cpu_ms:.1f}x in CPU time), p99 {fast.p99_ms:.3f} ms vs "
                         f"{slow.p99_ms:.3f} ms")
    return "\n".join(lines)


def spread(runs: list[list[Result]]) -> str:
    """Min/median/max over several runs of the CPU time and p99 latency per message, per rules and method."""
    lines = [f"over {len(runs)} runs: {'rules':<28} {'method':<8} {'CPU ms min/med/max':>24} "
             f"{'p99 ms min/med/max':>24}"]
    for n, first in enumerate(runs[0]):
        cpu = sorted(run[n].cpu_ms for run in runs)
        p99 = sorted(run[n].p99_ms for run in runs)
        lines.append(f"{'':<15}{first.rules:<28} {first.method:<8} "
                     f"{cpu[0]:>8.3f}{statistics.median(cpu):>8.3f}{cpu[-1]:>8.3f} "
                     f"{p99[0]:>8.3f}{statistics.median(p99):>8.3f}{p99[-1]:>8.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[Result]:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000, help="messages per rules file (indexed)")
    parser.add_argument("--naive-messages", type=int, default=1000, help="messages for the slow baseline")
    parser.add_argument("--keywords", type=int, default=1000)
    parser.add_argument("--grids", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examples", type=int, default=3000, help="generated training examples, large rules")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs; with several, min/median/max are printed")
    args = parser.parse_args(argv)
    bundled = load_rules(ROOT / "routing_rules.yaml")
    bundled_examples_ = bundled_examples(bundled)
    model = build_model("bundled", bundled, bundled_examples_) if bundled_examples_ else None
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "large_rules.yaml", keywords=args.keywords, grids=args.grids, seed=args.seed)
        large = load_rules(path)
    label = f"large ({args.keywords} kw, {args.grids} grids)"
    training = [Example(c, False, r.text) for r, c in labelled(large, args.examples, args.seed + 1)]
    large_model = build_model(label, large, training)
    runs: list[list[Result]] = []
    for _ in range(max(args.repeat, 1)):
        results = bench("bundled routing_rules.yaml", bundled, args.messages, args.naive_messages, args.seed, model)
        results += bench(label, large, args.messages, args.naive_messages, args.seed, large_model)
        runs.append(results)
        print(table(results))
    if len(runs) > 1:
        print(spread(runs))
    if model is not None:
        held = split(bundled_examples_)[1]
        print(format_evaluation(evaluate(bundled, held, model), "bundled held-out split"))
        for extra in sorted((ROOT / "benchmarks" / "data").glob("*_eval.tsv")):
            print(format_evaluation(evaluate(bundled, read_examples(extra, bundled.categories), model), extra.name))
    return results


if __name__ == "__main__":
    main()
