"""Do two versions of the router decide the same? Dump every ``route()`` result, then compare two dumps.

Run: ``.venv/bin/python -m benchmarks.routing_same dump OUT.jsonl`` with one version's code on ``PYTHONPATH``, again
with the other's, then ``.venv/bin/python -m benchmarks.routing_same compare A.jsonl B.jsonl``.

Dumped: the full :meth:`RouteDecision.to_dict` (category, candidates, priority, grid, target, explanation) of every
bundled example (``routing_examples/*.tsv``), every ``benchmarks/data/*_eval.tsv`` text and the routing benchmark's
generated messages, with a model trained for the bundled rules and one for the benchmark's large rules, and without
a model. Each version trains its own models (numpy's global generator seeded: LinearSVC draws from it), so a
change to training shows up too. Floats are compared within
:data:`TOLERANCE`; everything else must be equal.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.gen_rules import write
from benchmarks.routing_bench import ROOT, labelled, messages
from cases.routing import Report, RoutingIndex, route
from cases.routing.examples import Example, read_examples
from cases.routing.model import RoutingModel
from cases.routing.model_store import bundled_examples, train_for
from cases.rules.loader import load_rules
from cases.rules.schema import Rules

TOLERANCE = 1e-9


def _cases() -> Iterator[tuple[str, Rules, RoutingModel | None, list[Report]]]:
    bundled = load_rules(ROOT / "routing_rules.yaml")
    np.random.seed(0)  # before routing-model-7, LinearSVC shuffled with numpy's global generator
    model = train_for(bundled, bundled_examples(bundled))
    texts = [Report(e.text) for e in read_examples(ROOT / "routing_examples", bundled.categories)]
    for path in sorted((ROOT / "benchmarks" / "data").glob("*_eval.tsv")):
        texts += [Report(e.text) for e in read_examples(path, bundled.categories)]
    generated = messages(bundled, 3000)
    for name, reports in (("examples", texts), ("generated", generated)):
        yield f"bundled/{name}/model", bundled, model, reports
        yield f"bundled/{name}/keywords", bundled, None, reports
    with tempfile.TemporaryDirectory() as tmp:
        large = load_rules(write(Path(tmp) / "large_rules.yaml", keywords=1000, grids=500, seed=1))
    np.random.seed(0)
    large_model = train_for(large, [Example(c, False, r.text) for r, c in labelled(large, 3000, 2)])
    yield "large/generated/model", large, large_model, messages(large, 3000)
    yield "large/generated/keywords", large, None, messages(large, 1000)


def dump(out: Path) -> None:
    """Write one JSON line per routed report."""
    with out.open("w", encoding="utf-8") as handle:
        for name, rules, model, reports in _cases():
            index = RoutingIndex.build(rules)
            for n, report in enumerate(reports):
                decision = route(report, rules, model, index).to_dict()
                handle.write(json.dumps({"case": f"{name}/{n}", "text": report.text, "decision": decision},
                                        ensure_ascii=False) + "\n")


def differences(a: Any, b: Any, where: str = "") -> Iterator[str]:
    """Where ``a`` and ``b`` differ (floats within :data:`TOLERANCE`)."""
    if isinstance(a, float) and isinstance(b, float):
        if abs(a - b) > TOLERANCE:
            yield f"{where}: {a!r} != {b!r}"
    elif isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if key not in a or key not in b:
                yield f"{where}.{key}: only in {'first' if key in a else 'second'}"
            else:
                yield from differences(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{where}: {len(a)} items != {len(b)}"
        for n, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from differences(x, y, f"{where}[{n}]")
    elif a != b or type(a) is not type(b):
        yield f"{where}: {a!r} != {b!r}"


def compare(first: Path, second: Path) -> int:
    """Print the differing decisions; the number of them."""
    changed = total = 0
    with first.open(encoding="utf-8") as a_lines, second.open(encoding="utf-8") as b_lines:
        for a_line, b_line in zip(a_lines, b_lines, strict=True):
            a, b = json.loads(a_line), json.loads(b_line)
            total += 1
            found = list(differences(a, b))
            if found:
                changed += 1
                if changed <= 20:
                    print(f"{a['case']} {a['text'][:60]!r}:", *found[:5], sep="\n  ")
    print(f"{total} decisions compared, {changed} differ")
    return changed


def main(argv: list[str] | None = None) -> int:
    """``dump OUT`` or ``compare A B``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["dump", "compare"])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.paths[0])
        return 0
    return 1 if compare(args.paths[0], args.paths[1]) else 0


if __name__ == "__main__":
    sys.exit(main())
