"""Which grid polygon holds a shared location: a shapely STRtree over every grid boundary."""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely import STRtree
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from cases.rules.schema import Rules

__all__ = ["NEAREST_METRES", "GridLocator", "PointResult", "metres_between", "valid_point"]

NEAREST_METRES = 200.0
"""A point outside every grid but within this distance of one is given to the nearest grid."""
_METRES_PER_DEGREE_LAT = 110_574.0
_METRES_PER_DEGREE_LON = 111_320.0


@dataclass(frozen=True, slots=True)
class PointResult:
    """The grid for a point: ``inside`` its polygon, or ``nearest`` within :data:`NEAREST_METRES`."""

    grid: str
    how: str
    distance_m: float


def metres_between(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Approximate ground distance in metres (equirectangular; fine at grid scale)."""
    mid = math.radians((lat1 + lat2) / 2)
    dx = (lon2 - lon1) * _METRES_PER_DEGREE_LON * math.cos(mid)
    dy = (lat2 - lat1) * _METRES_PER_DEGREE_LAT
    return math.hypot(dx, dy)


def valid_point(lat: float | None, lon: float | None) -> bool:
    """Whether ``lat``/``lon`` are both given, finite and in range."""
    return (lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon)
            and -90 <= lat <= 90 and -180 <= lon <= 180)


class GridLocator:
    """Point-in-polygon over the grids that have a boundary, via a spatial index."""

    def __init__(self, rules: Rules) -> None:
        self.grids: list[str] = []
        polygons: list[BaseGeometry] = []
        for grid in rules.grids:
            boundary = rules.areas[grid].boundary
            if not boundary:
                continue
            polygon: BaseGeometry = Polygon(boundary)
            if not polygon.is_valid:
                polygon = shapely.make_valid(polygon)
            self.grids.append(grid)
            polygons.append(polygon)
        self.polygons = polygons
        self._tree = STRtree(polygons) if polygons else None

    def locate(self, lat: float, lon: float) -> PointResult | None:
        """The grid whose polygon holds the point (first in file order on a shared edge), else the
        nearest grid within :data:`NEAREST_METRES`, else None."""
        if self._tree is None or not valid_point(lat, lon):
            return None
        point = Point(lon, lat)
        hits = self._tree.query(point, predicate="intersects")
        if len(hits):
            return PointResult(self.grids[int(min(hits))], "inside", 0.0)
        lon_scale = max(math.cos(math.radians(lat)), 1e-6)
        radius = NEAREST_METRES / (_METRES_PER_DEGREE_LON * lon_scale)
        near = self._tree.query_nearest(point, max_distance=radius, all_matches=True)
        best: tuple[float, int] | None = None
        for index in sorted(int(i) for i in near):
            _, nearest = nearest_points(point, self.polygons[index])
            metres = metres_between(lon, lat, nearest.x, nearest.y)
            if metres <= NEAREST_METRES and (best is None or metres < best[0]):
                best = (metres, index)
        if best is None:
            return None
        return PointResult(self.grids[best[1]], "nearest", round(best[0], 1))
