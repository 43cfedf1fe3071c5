"""Scoring the router on labelled examples: accuracy, per-category precision/recall, ``other`` precision,
emergency recall and the confusion matrix (rows: the true category, columns: the routed one)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from cases.routing.examples import Example
from cases.routing.model import RoutingModel
from cases.routing.router import Report, RoutingIndex, route
from cases.rules.schema import Rules

__all__ = ["Evaluation", "evaluate", "format_evaluation"]


@dataclass
class Evaluation:
    """Counts over a labelled set; every rate is derived from them."""

    categories: list[str]
    total: int = 0
    correct: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    emergencies: int = 0
    emergencies_caught: int = 0
    false_alarms: int = 0
    confident: int = 0
    confident_wrong: int = 0
    missed: list[Example] = field(default_factory=list)
    """Emergencies not treated as such."""

    @property
    def accuracy(self) -> float:
        """Share of examples routed to their category."""
        return self.correct / self.total if self.total else 0.0

    def recall(self, category: str) -> float | None:
        """Of the examples of ``category``, the share routed there (None when there are none)."""
        actual = sum(n for (t, _), n in self.confusion.items() if t == category)
        return self.confusion[(category, category)] / actual if actual else None

    def precision(self, category: str) -> float | None:
        """Of the examples routed to ``category``, the share that belong there (None when none were)."""
        routed = sum(n for (_, p), n in self.confusion.items() if p == category)
        return self.confusion[(category, category)] / routed if routed else None

    @property
    def emergency_recall(self) -> float | None:
        """Share of emergencies treated as emergencies."""
        return self.emergencies_caught / self.emergencies if self.emergencies else None


def evaluate(rules: Rules, examples: Sequence[Example], model: RoutingModel | None) -> Evaluation:
    """Route every example and count the outcomes."""
    index = RoutingIndex.for_rules(rules)
    result = Evaluation(list(rules.categories))
    for example in examples:
        decision = route(Report(example.text), rules, model, index)
        result.total += 1
        result.correct += decision.category == example.category
        result.confusion[(example.category, decision.category)] += 1
        if not decision.category_uncertain:
            result.confident += 1
            result.confident_wrong += decision.category != example.category
        emergency = decision.priority == "emergency"
        if example.emergency:
            result.emergencies += 1
            result.emergencies_caught += emergency
            if not emergency:
                result.missed.append(example)
        elif emergency:
            result.false_alarms += 1
    return result


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_evaluation(result: Evaluation, title: str) -> str:
    """A plain-text report (an admin's tool: figures and category ids)."""
    lines = [f"{title}: {result.total} examples",
             f"accuracy           {_pct(result.accuracy)} ({result.correct}/{result.total})",
             f"emergency recall   {_pct(result.emergency_recall)} ({result.emergencies_caught}/{result.emergencies}),"
             f" false alarms {result.false_alarms}",
             f"other precision    {_pct(result.precision('other'))}",
             f"confident          {result.confident} decisions, wrong {result.confident_wrong} "
             f"({'-' if not result.confident else f'{result.confident_wrong / result.confident:.2%}'})",
             "", f"{'category':<12} {'precision':>9} {'recall':>7} {'n':>5}"]
    present = [c for c in result.categories
               if any(c in pair for pair, n in result.confusion.items() if n)]
    for category in present:
        actual = sum(n for (t, _), n in result.confusion.items() if t == category)
        lines.append(f"{category:<12} {_pct(result.precision(category)):>9} {_pct(result.recall(category)):>7} "
                     f"{actual:>5}")
    lines += ["", "confusion (rows: labelled, columns: routed)",
              " " * 12 + "".join(f"{c[:6]:>7}" for c in present)]
    for truth in present:
        lines.append(f"{truth:<12}" + "".join(f"{result.confusion[(truth, p)] or '.':>7}" for p in present))
    for example in result.missed:
        lines.append(f"missed emergency ({example.source}): {example.text}")
    return "\n".join(lines)
