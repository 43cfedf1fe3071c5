"""Routing a resident's report: category, grid and target, with the reasons for each.

:func:`route` is pure and deterministic. Everything that depends only on the rules (keyword and
place matchers, pinyin keys, the polygon index) lives in a :class:`RoutingIndex`, built once per
:class:`~cases.rules.schema.Rules` object and cached.

Category: every keyword match (see :mod:`cases.routing.keywords`) adds its weight to its category:
2 per Chinese character and 1 per other letter of the keyword, times the match score / 100. A keyword
lying inside a longer match (下水管 hides 水管) or inside a place name counts nothing. The heaviest
category wins; a tie goes to the higher priority, then to the category first in the rules file. No
match at all gives ``other`` with score 0.

Location, first that works: the shared point inside a grid polygon (or within 200 m of one); a place
name in the text; the remembered home area; otherwise missing.

With a trained model (:mod:`cases.routing.model`) the classifier has the last word: it sees the text and the
keyword evidence (whole message and lead) and gives every category a probability; the most likely wins, and
a confidence below the model's threshold (chosen on the held-out split) marks the category uncertain, so the
resident is asked. Without a model the keyword ranking above decides alone.

Priority: the category's, raised to ``emergency`` when a danger signal is found (:mod:`cases.routing.urgency`)
or the model's emergency probability reaches its (low) threshold.

Route: the first route whose conditions all hold. ``to: grid`` without a location gives no target and
``needs_location``; team routes need no location.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Literal

from cases.routing.geo import GridLocator, valid_point
from cases.routing.keywords import Match, PhraseMatcher, resolve_overlaps, units
from cases.routing.model import RoutingModel
from cases.routing.places import PlaceIndex
from cases.routing.urgency import DangerMatcher
from cases.rules.schema import PRIORITY_RANK, Route, Rules
from cases.textnorm import Normalized, normalize, normalize_mapped

__all__ = ["LocationSource", "Report", "RouteDecision", "RoutingIndex", "keyword_evidence", "route"]

LocationSource = Literal["point", "place", "home", "missing"]
FALLBACK_CATEGORY = "other"
CANDIDATES = 3
UNCERTAIN_BELOW = 90.0
"""A winning score below this (only fuzzy or pinyin evidence) marks the category uncertain."""
CLOSE_RUNNER_UP = 0.75
"""A runner-up with at least this fraction of the winner's weight marks the category uncertain."""
PLACE_HIDES_KEYWORD = 90.0
"""Keywords inside a place name matched at least this well are ignored (``Lake Park`` is no parking)."""


@dataclass(frozen=True, slots=True)
class Report:
    """What a resident sent: the text, an optional shared location and their remembered home area."""

    text: str
    lat: float | None = None
    lon: float | None = None
    home_area: str | None = None


@dataclass(frozen=True)
class RouteDecision:
    """Where a report goes and why."""

    category: str
    category_score: float
    runner_up: str | None
    runner_up_score: float
    candidates: tuple[tuple[str, float], ...]
    """Best categories with their scores, best first (for "did you mean" buttons)."""
    priority: str
    area: str | None
    location_source: LocationSource
    target: str | None
    route_index: int | None
    needs_location: bool
    category_uncertain: bool
    explanation: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view, with the explanation both structured and as text."""
        return {
            "category": self.category,
            "category_score": self.category_score,
            "runner_up": self.runner_up,
            "runner_up_score": self.runner_up_score,
            "candidates": [{"category": c, "score": s} for c, s in self.candidates],
            "priority": self.priority,
            "area": self.area,
            "location_source": self.location_source,
            "target": self.target,
            "route_index": self.route_index,
            "needs_location": self.needs_location,
            "category_uncertain": self.category_uncertain,
            "explanation": self.explanation,
            "explanation_text": self.explain(),
        }

    def explain(self) -> str:
        """The explanation as a few lines of English."""
        return explain(self.explanation)


@dataclass(frozen=True, slots=True)
class _CategoryScore:
    category: str
    weight: float
    score: float
    matches: tuple[Match, ...]


class RoutingIndex:
    """Everything routing needs from one Rules object, precomputed (read-only, thread-safe to share)."""

    _cache: dict[int, tuple[weakref.ref[Rules], RoutingIndex]] = {}
    _lock = threading.Lock()

    def __init__(self, rules: Rules) -> None:
        # Only derived data is kept (no reference to ``rules``): the cache must not keep Rules alive.
        self.keywords = PhraseMatcher(
            (keyword, category_id)
            for category_id, category in rules.categories.items()
            for keyword in category.keywords
        )
        self.places = PlaceIndex(rules)
        self.locator = GridLocator(rules)
        self.category_order = {category_id: n for n, category_id in enumerate(rules.categories)}
        self.priority = {c: category.priority for c, category in rules.categories.items()}
        self.priority_rank = {c: PRIORITY_RANK[p] for c, p in self.priority.items()}
        self.danger = DangerMatcher(rules)

    @classmethod
    def build(cls, rules: Rules) -> RoutingIndex:
        """A fresh index for ``rules``."""
        return cls(rules)

    @classmethod
    def for_rules(cls, rules: Rules) -> RoutingIndex:
        """The index for this very Rules object, built on first use and dropped with the object."""
        key = id(rules)
        with cls._lock:
            cached = cls._cache.get(key)
            if cached is not None and cached[0]() is rules:
                return cached[1]
        index = cls(rules)
        with cls._lock:
            cls._cache[key] = (weakref.ref(rules), index)
            weakref.finalize(rules, cls._cache.pop, key, None)
        return index

    def rank(self, matches: list[Match]) -> list[_CategoryScore]:
        """Categories with at least one match, best first (weight, then priority, then file order)."""
        grouped: dict[str, list[Match]] = {}
        for match in matches:
            grouped.setdefault(match.target, []).append(match)
        scores = [
            _CategoryScore(
                category,
                round(sum(units(normalize(m.phrase)) * m.score / 100 for m in found), 3),
                max(m.score for m in found),
                tuple(found),
            )
            for category, found in grouped.items()
        ]
        return sorted(scores, key=lambda s: (-s.weight, -self.priority_rank[s.category],
                                             self.category_order[s.category]))


def keyword_evidence(index: RoutingIndex, text: Normalized) -> tuple[list[Match], list[dict[str, Any]], list[Match]]:
    """Keyword matches that count, keyword matches hidden inside a place name, and the place matches."""
    place_matches = index.places.find(text)
    hiding = [p for p in place_matches if p.score >= PLACE_HIDES_KEYWORD]
    keyword_matches: list[Match] = []
    ignored: list[dict[str, Any]] = []
    for match in resolve_overlaps(index.keywords.find(text)):
        place = next((p for p in hiding if p.norm_start <= match.norm_start and match.norm_end <= p.norm_end), None)
        if place is None:
            keyword_matches.append(match)
        else:
            ignored.append({**_match_dict(match), "inside_place": place.phrase})
    return keyword_matches, ignored, place_matches


def route(report: Report, rules: Rules, model: RoutingModel | RoutingIndex | None = None,
          index: RoutingIndex | None = None) -> RouteDecision:
    """Decide the category, priority, grid and target of ``report`` under ``rules`` (and ``model``, when
    given); pure and deterministic, never raises on any text.

    ``model`` must have been trained for ``rules`` (:func:`cases.routing.model_store.current_model`); without
    it the keywords decide alone. ``index`` must have been built from ``rules``; by default the cached one.
    """
    if isinstance(model, RoutingIndex):  # the older call route(report, rules, index)
        model, index = None, model
    index = index if index is not None else RoutingIndex.for_rules(rules)
    raw = report.text if isinstance(report.text, str) else str(report.text)
    text = normalize_mapped(raw)
    keyword_matches, ignored, place_matches = keyword_evidence(index, text)
    signals = index.danger.find(text)

    category_part, ranked = _choose_category(index, keyword_matches, ignored)
    if model is not None and model.categories == list(rules.categories):
        prediction = model.predict(raw, keyword_matches, len(signals), normalized=text.text)
        candidates = tuple((c, round(p * 100, 1)) for c, p in prediction.probabilities[:CANDIDATES])
        category, score = candidates[0]
        runner_id, runner_score = candidates[1] if len(candidates) > 1 else (None, 0.0)
        uncertain = prediction.probabilities[0][1] < model.threshold
        emergency_probability: float | None = prediction.emergency_probability
        emergency_threshold = model.emergency_threshold
        by_probability = model.emergency_by_probability(prediction)
        category_part = _model_part(category_part, category, prediction.probabilities, prediction.neighbours,
                                    model.threshold, ranked)
    else:
        category = ranked[0].category if ranked else FALLBACK_CATEGORY
        score = ranked[0].score if ranked else 0.0
        runner = ranked[1] if len(ranked) > 1 else None
        runner_id, runner_score = (runner.category, runner.score) if runner else (None, 0.0)
        candidates = tuple((s.category, s.score) for s in ranked[:CANDIDATES])
        uncertain = (not ranked or score < UNCERTAIN_BELOW
                     or (runner is not None and runner.weight >= CLOSE_RUNNER_UP * ranked[0].weight))
        emergency_probability, emergency_threshold, by_probability = None, 1.0, False
    base_priority = rules.categories[category].priority if category in rules.categories else "normal"
    urgent = bool(signals) or by_probability
    priority = "emergency" if urgent else base_priority
    urgency_part: dict[str, Any] = {
        "emergency": priority == "emergency", "category_priority": base_priority,
        "signals": [_match_dict(m) for m in signals], "probability": emergency_probability,
        "threshold": emergency_threshold if emergency_probability is not None else None,
    }

    area, source, location_part = _locate(index, report, place_matches)
    route_index, target, route_part = apply_routes(rules, category, priority, area)
    needs_location = target is None and area is None
    category_part["uncertain"] = uncertain
    route_part["needs_location"] = needs_location
    return RouteDecision(
        category=category,
        category_score=score,
        runner_up=runner_id,
        runner_up_score=runner_score,
        candidates=candidates,
        priority=priority,
        area=area,
        location_source=source,
        target=target,
        route_index=route_index,
        needs_location=needs_location,
        category_uncertain=uncertain,
        explanation={"category": category_part, "urgency": urgency_part, "location": location_part,
                     "route": route_part},
    )


def _model_part(keyword_part: dict[str, Any], category: str, probabilities: tuple[tuple[str, float], ...],
                neighbours: tuple[tuple[str, str, float], ...], threshold: float,
                ranked: list[_CategoryScore]) -> dict[str, Any]:
    """The category explanation when the classifier decides: its top categories, the closest examples and
    the keywords that matched (for every category, the chosen one first)."""
    matches = [_match_dict(m) | {"category": s.category}
               for s in sorted(ranked, key=lambda s: s.category != category) for m in s.matches]
    return {
        "id": category, "decided_by": "model", "score": round(probabilities[0][1] * 100, 1),
        "confidence": probabilities[0][1], "threshold": threshold,
        "top": [[c, p] for c, p in probabilities[:CANDIDATES]],
        "neighbours": [{"text": t, "category": c, "similarity": s} for t, c, s in neighbours],
        "keywords": matches, "keyword_choice": keyword_part.get("id"),
        "matches": [m for m in matches if m["category"] == category],
        "reason": (f"the classifier gives it {probabilities[0][1]:.0%} "
                   f"({'below' if probabilities[0][1] < threshold else 'at or above'} the threshold "
                   f"{threshold:.0%}); keywords point to {keyword_part.get('id')}"),
        **({"ignored": keyword_part["ignored"]} if "ignored" in keyword_part else {}),
    }


def _match_dict(match: Match) -> dict[str, Any]:
    data: dict[str, Any] = {"keyword": match.phrase, "found": match.found, "form": match.form,
                            "score": match.score, "start": match.start, "end": match.end}
    if match.detail:
        data["pinyin"] = match.detail
    return data


def _choose_category(index: RoutingIndex, matches: list[Match],
                     ignored: list[dict[str, Any]]) -> tuple[dict[str, Any], list[_CategoryScore]]:
    ranked = index.rank(matches)
    part: dict[str, Any] = {"id": FALLBACK_CATEGORY, "score": 0.0, "weight": 0.0, "matches": [],
                            "runner_up": None, "reason": "no keyword matched; the fallback category is used"}
    if ignored:
        part["ignored"] = ignored
    if not ranked:
        return part, ranked
    best = ranked[0]
    part.update(id=best.category, score=best.score, weight=best.weight,
                matches=[_match_dict(m) for m in best.matches])
    if len(ranked) == 1:
        part["reason"] = "the only category whose keywords matched"
        return part, ranked
    runner = ranked[1]
    part["runner_up"] = {"id": runner.category, "score": runner.score, "weight": runner.weight,
                         "matches": [_match_dict(m) for m in runner.matches]}
    if best.weight > runner.weight:
        part["reason"] = f"its keywords weigh {best.weight:g} against {runner.weight:g} for {runner.category}"
    elif index.priority_rank[best.category] > index.priority_rank[runner.category]:
        part["reason"] = (f"tie on weight {best.weight:g} with {runner.category}; "
                          f"higher priority ({index.priority[best.category]} > {index.priority[runner.category]})")
    else:
        part["reason"] = (f"tie on weight {best.weight:g} and priority with {runner.category}; "
                          "it comes first in the rules file")
    return part, ranked


def _locate(index: RoutingIndex, report: Report,
            place_matches: list[Match]) -> tuple[str | None, LocationSource, dict[str, Any]]:
    notes: list[str] = []
    part: dict[str, Any] = {"source": "missing", "grid": None, "notes": notes}
    if report.lat is not None or report.lon is not None:
        point = [report.lon, report.lat]
        if not valid_point(report.lat, report.lon):
            notes.append(f"shared location {point} ignored: not a valid [lon, lat] pair")
        else:
            assert report.lat is not None and report.lon is not None
            found = index.locator.locate(report.lat, report.lon)
            if found is not None:
                part.update(source="point", grid=found.grid, point=point, how=found.how,
                            distance_m=found.distance_m)
                return found.grid, "point", part
            notes.append(f"point {point} lies in no grid polygon (nor within 200 m of one)")
    place = PlaceIndex.best(place_matches)
    if place is not None:
        part.update(source="place", grid=place.grid, place=_match_dict(place.match) | {"grid": place.grid},
                    others=[_match_dict(m) | {"grid": m.target} for m in place.others])
        return place.grid, "place", part
    if report.home_area:
        home = index.places.resolve_home(report.home_area)
        if home.grid is not None:
            part.update(source="home", grid=home.grid, home_area=report.home_area, how=home.how)
            return home.grid, "home", part
        notes.append(home.how)
    notes.append("no usable shared location, no known place name in the text and no usable home area")
    return None, "missing", part


def route_line(index: int, rule: Route) -> str:
    """A route as written in the rules file: ``routes[0]: {category: gas, to: team:gas-company}``."""
    parts: list[str] = []
    if rule.category is not None:
        cats = rule.categories()
        parts.append(f"category: {cats[0]}" if isinstance(rule.category, str) else f"category: [{', '.join(cats)}]")
    if rule.area is not None:
        parts.append(f"area: {rule.area}")
    if rule.priority is not None:
        parts.append(f"priority: {rule.priority}")
    parts.append(f"to: {rule.to}")
    return f"routes[{index}]: {{{', '.join(parts)}}}"


def apply_routes(rules: Rules, category: str, priority: str,
                 area: str | None) -> tuple[int | None, str | None, dict[str, Any]]:
    """The first route for (category, priority, grid): its index, target and an explanation part."""
    skipped: list[str] = []
    part: dict[str, Any] = {"index": None, "rule": None, "target": None, "skipped": skipped}
    for number, rule in enumerate(rules.routes):
        cats = rule.categories()
        if cats and category not in cats:
            continue  # other categories' routes are not worth listing
        if rule.area is not None and (area is None or not rules.is_within(area, rule.area)):
            why = "the location is unknown" if area is None else f"{area} is not within {rule.area}"
            skipped.append(f"{route_line(number, rule)} does not apply: {why}")
            continue
        if rule.priority is not None and PRIORITY_RANK.get(priority, 1) < PRIORITY_RANK[rule.priority]:
            skipped.append(f"{route_line(number, rule)} does not apply: priority {priority} is below {rule.priority}")
            continue
        target = (f"grid:{area}" if area is not None else None) if rule.to == "grid" else rule.to
        part.update(index=number, rule=route_line(number, rule), target=target)
        return number, target, part
    return None, None, part


# ---- explanation text ----

_FORMS = {
    "exact": "exactly",
    "t2s": "after traditional→simplified conversion",
    "variant": "as a spelling variant (spacing, inflection)",
    "verb": "as a verb form, which may mean something else",
    "split": "with other words in between",
}


def _describe_match(m: dict[str, Any], what: str) -> str:
    where = f"at {m['start']}"
    found = m["found"]
    form = m["form"]
    if form == "fuzzy":
        how = f"as the typo {found!r} (fuzzy score {m['score']:g})"
    elif form == "pinyin":
        how = f"as the homophone {found!r} (pinyin {m.get('pinyin', '')}, score {m['score']:g})"
    elif form == "exact" and found != m["keyword"]:
        how = f"exactly as {found!r} after width/case folding"
    elif form == "exact":
        how = "exactly"
    else:
        how = f"{_FORMS.get(form, form)}: {found!r}"
    return f"{what} {m['keyword']!r} matched {how} {where}"


def explain(explanation: dict[str, Any]) -> str:
    """Render a decision's structured explanation as English lines."""
    lines: list[str] = []
    cat = explanation.get("category", {})
    lines.append(f"category: {cat.get('id')} (score {cat.get('score', 0):g}"
                 f"{', uncertain' if cat.get('uncertain') else ''}): {cat.get('reason', '')}")
    lines.extend(f"  - {_describe_match(m, 'keyword')}" for m in cat.get("matches", []))
    runner = cat.get("runner_up")
    if runner:
        lines.append(f"  runner-up: {runner['id']} (score {runner['score']:g}, weight {runner['weight']:g})")
        lines.extend(f"    - {_describe_match(m, 'keyword')}" for m in runner.get("matches", []))
    for c, p in cat.get("top", []):
        lines.append(f"  classifier: {c} {p:.0%}")
    for n in cat.get("neighbours", []):
        lines.append(f"  similar example ({n['category']}, {n['similarity']:.2f}): {n['text']}")
    urgency = explanation.get("urgency", {})
    if urgency.get("emergency"):
        found = ", ".join(repr(m["found"]) for m in urgency.get("signals", [])) or "-"
        lines.append(f"urgency: emergency — danger signals {found}; emergency probability "
                     f"{urgency.get('probability')}; category priority {urgency.get('category_priority')}")
    for m in cat.get("ignored", []):
        lines.append(f"  ignored: keyword {m['keyword']!r} at {m['start']} is part of the place name "
                     f"{m['inside_place']!r}")
    loc = explanation.get("location", {})
    source = loc.get("source")
    if source == "point":
        if loc.get("how") == "inside":
            lines.append(f"location: grid {loc['grid']} — the shared point {loc['point']} lies inside its polygon")
        else:
            lines.append(f"location: grid {loc['grid']} — the shared point {loc['point']} is outside every polygon, "
                         f"{loc.get('distance_m', 0):g} m from this grid's boundary")
    elif source == "place":
        lines.append(f"location: grid {loc['grid']} — {_describe_match(loc['place'], 'place name')}")
        lines.extend(f"  also named: {m['keyword']!r} of grid {m['grid']}" for m in loc.get("others", []))
    elif source == "home":
        lines.append(f"location: grid {loc['grid']} — the resident's home area was used ({loc.get('how')})")
    else:
        lines.append("location: missing — the resident must be asked where")
    lines.extend(f"  note: {note}" for note in loc.get("notes", []))
    rt = explanation.get("route", {})
    if rt.get("rule") is None:
        lines.append("route: none applies")
    elif rt.get("target") is None:
        lines.append(f"route: {rt['rule']} — needs a grid, so the location must be asked for")
    else:
        lines.append(f"route: {rt['rule']} → {rt['target']}")
    lines.extend(f"  skipped: {line}" for line in rt.get("skipped", []))
    return "\n".join(lines)
