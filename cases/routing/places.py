"""Finding the grid from place names in the text, or from the resident's remembered home area."""

from __future__ import annotations

from dataclasses import dataclass

from cases.routing.keywords import Match, PhraseMatcher, resolve_overlaps, units
from cases.rules.schema import Rules
from cases.textnorm import Normalized, normalize

__all__ = ["HomeResult", "PlaceIndex", "PlaceResult"]


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """The place name that decided the grid, and the other grids also named in the text."""

    grid: str
    match: Match
    others: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class HomeResult:
    """How the remembered home area resolved: a grid, or None with the reason."""

    grid: str | None
    how: str


class PlaceIndex:
    """Place names of every grid (its ``places`` and display names), matched like keywords."""

    def __init__(self, rules: Rules) -> None:
        phrases: list[tuple[str, str]] = []
        for grid in rules.grids:
            area = rules.areas[grid]
            phrases.extend((place, grid) for place in area.places)
            if area.name is not None:
                phrases.extend([(area.name.zh, grid), (area.name.en, grid)])
        self.matcher = PhraseMatcher(phrases)
        # Only derived data is kept (no reference to ``rules``), so a cached index never keeps it alive.
        within: dict[str, list[str]] = {area_id: [] for area_id in rules.areas}
        for grid in rules.grids:
            for area_id in rules.ancestors(grid):
                within[area_id].append(grid)
        self._areas = {area_id: (area.kind, tuple(within[area_id])) for area_id, area in rules.areas.items()}
        self._exact: dict[str, set[str]] = {}
        for entry in self.matcher.entries:
            self._exact.setdefault(entry.norm, set()).add(entry.target)

    def find(self, text: Normalized) -> list[Match]:
        """Every place name found in ``text`` (overlaps resolved), in order of position."""
        return resolve_overlaps(self.matcher.find(text))

    @staticmethod
    def best(matches: list[Match]) -> PlaceResult | None:
        """The deciding place: best score, then longest name, then earliest mention, then file order."""
        if not matches:
            return None
        ranked = sorted(matches, key=lambda m: (-m.score, -units(m.phrase), m.start, m.order))
        winner = ranked[0]
        others = tuple(m for m in ranked[1:] if m.target != winner.target)
        return PlaceResult(winner.target, winner, others)

    def resolve_home(self, home: str) -> HomeResult:
        """A grid id, an area with a single grid, or a place name of exactly one grid."""
        if home in self._areas:
            kind, grids = self._areas[home]
            if kind == "grid":
                return HomeResult(home, f"home area {home!r} is a grid")
            if len(grids) == 1:
                return HomeResult(grids[0], f"home area {home!r} ({kind}) has one grid, {grids[0]!r}")
            return HomeResult(None, f"home area {home!r} is a {kind} with {len(grids)} grids")
        grids_named = sorted(self._exact.get(normalize(home), ()))
        if len(grids_named) == 1:
            return HomeResult(grids_named[0], f"home address {home!r} is a place of grid {grids_named[0]!r}")
        if grids_named:
            return HomeResult(None, f"home address {home!r} names several grids: {', '.join(grids_named)}")
        return HomeResult(None, f"home area {home!r} is neither an area id nor a known place name")
