"""K-fold cross-validation of the whole router (classifier + keywords) on the TRAIN split of the bundled examples.

The held-out split is never read. Each fold trains a model on the other folds (as ``gridbot routing retrain``
would) and routes the fold's examples; the figures are pooled over the folds. Used to choose examples and
hyper-parameters without looking at the held-out or evaluation sets (issue 9).

    PYTHONPATH=. .venv/bin/python -m benchmarks.routing_cv [--folds 5] [--errors FILE] [--not-scored a.tsv,b.tsv]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from cases.routing.evaluate import Evaluation, evaluate, format_evaluation
from cases.routing.examples import split
from cases.routing.model_store import bundled_examples, train_for
from cases.routing.router import Report, RoutingIndex, route
from cases.rules.loader import load_rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="routing_rules.yaml")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--errors", help="write the misrouted examples (truth, routed, source, text) here")
    parser.add_argument("--not-scored", default="", help="comma-separated example files trained on in every fold "
                        "but not scored (to compare figures on the same examples before and after adding files)")
    args = parser.parse_args()
    from sklearn.model_selection import StratifiedKFold

    rules = load_rules(args.rules)
    train_part, _ = split(bundled_examples(rules))
    unscored = {name for name in args.not_scored.split(",") if name}
    always = [e for e in train_part if e.source.split(":")[0] in unscored]
    train_part = [e for e in train_part if e.source.split(":")[0] not in unscored]
    labels = np.array([e.category for e in train_part])
    total = Evaluation(list(rules.categories))
    errors: list[str] = []
    index = RoutingIndex.for_rules(rules)
    started = time.perf_counter()
    for fit, test in StratifiedKFold(args.folds, shuffle=True, random_state=0).split(labels, labels):
        model = train_for(rules, [*(train_part[i] for i in fit), *always])
        fold = [train_part[i] for i in test]
        result = evaluate(rules, fold, model)
        total.total += result.total
        total.correct += result.correct
        total.confusion.update(result.confusion)
        total.emergencies += result.emergencies
        total.emergencies_caught += result.emergencies_caught
        total.false_alarms += result.false_alarms
        total.confident += result.confident
        total.confident_wrong += result.confident_wrong
        total.missed += result.missed
        for example in fold:
            decision = route(Report(example.text), rules, model, index)
            if decision.category != example.category:
                errors.append(f"{example.category}\t{decision.category}\t{example.source}\t{example.text}")
    print(format_evaluation(total, f"{args.folds}-fold CV on the train split"))
    recalls = {c: total.recall(c) for c in total.categories}
    print("lowest recall", min((r, c) for c, r in recalls.items() if r is not None))
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.errors:
        Path(args.errors).write_text("\n".join(sorted(errors)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
