"""Cross-reference checks of the rules file (ids that must exist, the shape of the area tree, a catch-all
route), on plain data.

The same function serves the schema (on the validated model's data) and the loader (on the raw file
when some values already failed validation), so one run of ``gridbot rules check`` lists every problem
at once. It never trusts a value's type: whatever is not what the schema expects (including
:data:`INVALID`, which the loader puts where a value failed validation) is skipped, not reported twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Path = tuple[str | int, ...]
ReferenceError_ = tuple[Path, str]

INVALID = object()
"""Stands for a value that already failed validation: no check looks at it."""

CHILD_KIND: dict[str, str | None] = {
    "district": "street", "street": "community", "community": "grid", "grid": None,
}
_CATCH_ALL = [{"to": "grid"}]  # the schema's default routes


def cross_reference_errors(data: Any) -> list[ReferenceError_]:
    """Every cross-reference problem in rules ``data`` (a mapping of sections), as (path, message)."""
    if not isinstance(data, dict):
        return []
    errors: list[ReferenceError_] = []
    categories = data.get("categories")
    if isinstance(categories, dict) and "other" not in categories:
        errors.append((("categories",), "a category with id 'other' is required as the fallback"))
    areas = data.get("areas")
    if isinstance(areas, dict):
        errors += _area_tree_errors(areas)
    else:
        areas = None
    routes = data.get("routes", _CATCH_ALL)
    if isinstance(routes, list):
        errors += _route_errors(routes, categories if isinstance(categories, dict) else None, areas,
                                data.get("teams", {}))
    teams = data.get("teams", {})
    if isinstance(teams, dict) and areas is not None:
        for team_id, team in teams.items():
            area = _field(team, "area")
            if isinstance(area, str) and area not in areas:
                errors.append((("teams", team_id, "area"), f"team {team_id!r} names unknown area {area!r}"))
    return errors


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else INVALID


def _strings(value: Any) -> Iterable[tuple[int, str]]:
    """The string members of a list, with their indexes."""
    if isinstance(value, list):
        yield from ((index, v) for index, v in enumerate(value) if isinstance(v, str))


def _area_tree_errors(areas: dict[Any, Any]) -> list[ReferenceError_]:
    errors: list[ReferenceError_] = []
    parents: dict[str, str] = {}
    for area_id, area in areas.items():
        kind = _field(area, "kind")
        children = _field(area, "children")
        for index, child in _strings(children):
            loc: Path = ("areas", area_id, "children", index)
            if child not in areas:
                errors.append((loc, f"child {child!r} of {area_id!r} is not defined under 'areas'"))
            elif child in parents:
                errors.append((loc, f"area {child!r} has two parents: {parents[child]!r} and {area_id!r}"))
            elif child == area_id:
                errors.append((loc, f"area {area_id!r} lists itself as a child"))
            else:
                parents[child] = area_id
                expected = CHILD_KIND.get(kind) if isinstance(kind, str) else None
                child_kind = _field(areas[child], "kind")
                if expected and isinstance(child_kind, str) and child_kind in CHILD_KIND and child_kind != expected:
                    errors.append((loc, f"{child!r} is a {child_kind} but children of a {kind} must be {expected}s"))
        if kind == "grid":
            if isinstance(children, list) and children:
                errors.append((("areas", area_id, "children"), f"grid {area_id!r} cannot have children"))
            if not _field(area, "places") and not _field(area, "boundary"):  # INVALID counts as given
                errors.append((("areas", area_id), f"grid {area_id!r} has neither places nor a boundary; "
                                                   "give at least one"))
    roots = [a for a in areas if a not in parents]
    if not areas:
        errors.append((("areas",), "no areas are defined"))
    elif len(roots) != 1 and all(isinstance(_field(a, "children"), list | None) for a in areas.values()):
        errors.append((("areas",), f"the area tree must have exactly one root, found {sorted(map(str, roots))}"))
    return errors


def _route_errors(routes: list[Any], categories: dict[Any, Any] | None, areas: dict[Any, Any] | None,
                  teams: Any) -> list[ReferenceError_]:
    errors: list[ReferenceError_] = []
    for index, route in enumerate(routes):
        for name in _route_categories(route) if categories is not None else []:
            if name not in categories:  # type: ignore[operator]
                errors.append((("routes", index, "category"), f"route names unknown category {name!r}"))
        area = _field(route, "area")
        if isinstance(area, str) and areas is not None and area not in areas:
            errors.append((("routes", index, "area"), f"route names unknown area {area!r}"))
        to = _field(route, "to")
        if isinstance(to, str):
            errors += _destination_errors(index, to, areas, teams)
    if all(isinstance(route, dict) and INVALID not in route.values() for route in routes) and not any(
        route.get("to") == "grid" and not _route_categories(route) and route.get("area") is None
        and route.get("priority") is None for route in routes
    ):
        errors.append((("routes",), "the last route should be a catch-all {to: grid} so no report is unrouted"))
    return errors


def _route_categories(route: Any) -> list[str]:
    """The categories a route is limited to (empty: any), like ``Route.categories``."""
    category = _field(route, "category")
    return [category] if isinstance(category, str) else [c for _, c in _strings(category)]


def _destination_errors(index: int, to: str, areas: dict[Any, Any] | None, teams: Any) -> list[ReferenceError_]:
    loc: Path = ("routes", index, "to")
    kind, _, ref = to.partition(":")
    if to == "grid":
        return []
    if kind == "team":
        if isinstance(teams, dict) and ref not in teams:
            return [(loc, f"route goes to unknown team {ref!r}")]
        return []
    if kind == "grid":
        kind_there = _field(areas[ref], "kind") if areas is not None and ref in areas else None
        if areas is not None and (ref not in areas or (isinstance(kind_there, str) and kind_there != "grid")):
            return [(loc, f"route goes to {ref!r}, which is not a defined grid")]
        return []
    return [(loc, f"'to' must be 'grid', 'grid:<id>' or 'team:<id>', got {to!r}")]
