"""Checks of the grid boundaries that a schema cannot see: a boundary that crosses itself, two grids that
overlap, and gaps inside a community (ground covered by none of its grids although they surround it).

Routing silently misplaces points in each of these cases (a self-crossing polygon is "repaired" into a
different shape; a point in an overlap goes to whichever grid comes first; a point in a gap goes to the
nearest grid or nowhere), so ``gridbot rules check`` reports them with the position of the boundary.
Areas are measured in square metres on a local flat projection (fine at the scale of a district).
"""

from __future__ import annotations

import math
import re
from itertools import combinations

import shapely
from shapely import STRtree
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from cases.rules.schema import Rules

Path = tuple[str | int, ...]

OVERLAP_TOLERANCE_M2 = 1.0
"""Two grids may share more than an edge by this much (rounding of coordinates); more is an overlap."""
GAP_TOLERANCE_M2 = 1.0
"""A hole inside a community's grids smaller than this is rounding, not a gap."""
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0
_WHERE = re.compile(r"\[\s*(-?[\d.e+-]+)\s+(-?[\d.e+-]+)\s*\]")


def geometry_errors(rules: Rules) -> list[tuple[Path, str]]:
    """Every boundary problem in ``rules`` as (location in the file, message)."""
    errors: list[tuple[Path, str]] = []
    polygons: dict[str, BaseGeometry] = {}
    for grid in rules.grids:
        boundary = rules.areas[grid].boundary
        if not boundary:
            continue
        polygon = Polygon(boundary)
        if polygon.is_valid:
            polygons[grid] = polygon
        else:
            errors.append(_invalid(grid, boundary))
    if not polygons:
        return errors
    lat0 = sum(p.centroid.y for p in polygons.values()) / len(polygons)
    metres = {grid: _to_metres(p, lat0) for grid, p in polygons.items()}
    names = list(polygons)
    tree = STRtree([polygons[g] for g in names])  # only grids whose boxes meet are compared
    pairs = sorted({(min(a, b), max(a, b)) for a, b in zip(*tree.query([polygons[g] for g in names],
                                                                         predicate="intersects"), strict=True)
                    if a != b})
    for a, b in pairs:
        first, second = names[a], names[b]
        shared = metres[first].intersection(metres[second]).area
        if shared > OVERLAP_TOLERANCE_M2:
            errors.append((("areas", second, "boundary"),
                           f"grid {second!r} overlaps grid {first!r} by {_area(shared)}; a point there would go to "
                           f"{first!r} (the first in the file): move the shared edge so they only touch"))
    for community, area in rules.areas.items():
        if area.kind != "community":
            continue
        inside = [metres[g] for g in rules.grids_within(community) if g in metres]
        errors += [(("areas", community), message) for message in _gaps(community, inside, lat0)]
    return errors


def _invalid(grid: str, boundary: list[tuple[float, float]]) -> tuple[Path, str]:
    """Where and why a grid's boundary is not a valid polygon (for a crossing: which edges cross where)."""
    reason = explain_validity(Polygon(boundary))
    found = _WHERE.search(reason)
    if found is None:
        return ("areas", grid, "boundary"), f"the boundary of grid {grid!r} is not a valid polygon: {reason}"
    at = (float(found.group(1)), float(found.group(2)))
    where = f"[{_coord(at[0])}, {_coord(at[1])}]"
    edges = _crossing_edges(boundary, at)
    if "self-intersection" in reason.lower() and edges is not None:
        i, j = edges
        n = len(boundary)
        return (("areas", grid, "boundary", i),
                f"the boundary of grid {grid!r} crosses itself at {where}: the edge from point {i + 1} to "
                f"{(i + 1) % n + 1} crosses the edge from point {j + 1} to {(j + 1) % n + 1}; reorder the points "
                f"so they go round the grid once")
    return (("areas", grid, "boundary"),
            f"the boundary of grid {grid!r} is not a valid polygon at {where}: {reason.split('[')[0].strip()}")


def _crossing_edges(boundary: list[tuple[float, float]], at: tuple[float, float]) -> tuple[int, int] | None:
    """The two non-neighbouring edges (by the index of their first point) that meet at ``at``."""
    n = len(boundary)
    point = Point(at)
    near = [i for i in range(n)
            if LineString([boundary[i], boundary[(i + 1) % n]]).distance(point) < 1e-9]
    for i, j in combinations(near, 2):
        if (j - i) % n not in (1, n - 1):
            return i, j
    return (near[0], near[1]) if len(near) >= 2 else None


def _gaps(community: str, grids: list[BaseGeometry], lat0: float) -> list[str]:
    """Holes in the union of a community's grids: ground its grids surround but none covers."""
    if len(grids) < 2:
        return []
    union = shapely.union_all(grids)
    parts = getattr(union, "geoms", [union])
    messages = []
    for part in parts:
        for ring in getattr(part, "interiors", []):
            hole = Polygon(ring)
            if hole.area > GAP_TOLERANCE_M2:
                inside = hole.representative_point()
                lon, lat = _to_degrees(inside.x, inside.y, lat0)
                messages.append(f"community {community!r} has a gap of {_area(hole.area)} that none of its grids "
                                f"covers, around [{_coord(lon)}, {_coord(lat)}]; a location there finds no grid: "
                                f"extend a neighbouring grid's boundary over it")
    return messages


def _to_metres(polygon: BaseGeometry, lat0: float) -> BaseGeometry:
    scale = _M_PER_DEG_LON * math.cos(math.radians(lat0))
    return shapely.transform(polygon, lambda xy: xy * [scale, _M_PER_DEG_LAT])


def _to_degrees(x: float, y: float, lat0: float) -> tuple[float, float]:
    return x / (_M_PER_DEG_LON * math.cos(math.radians(lat0))), y / _M_PER_DEG_LAT


def _area(square_metres: float) -> str:
    return f"{square_metres:,.0f} m²" if square_metres >= 10 else f"{square_metres:.1f} m²"


def _coord(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")
