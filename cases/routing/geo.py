"""Which grid polygon holds a shared location: a uniform grid of cells over the grid boundaries' bounding boxes
(a cell lists the polygons whose box overlaps it), and a shapely STRtree for the nearest grid."""

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
        self._cells = _Cells(polygons)

    def locate(self, lat: float, lon: float) -> PointResult | None:
        """The grid whose polygon holds the point (first in file order on a shared edge), else the
        nearest grid within :data:`NEAREST_METRES`, else None."""
        if self._tree is None or not valid_point(lat, lon):
            return None
        hits = self._cells.holding(lon, lat)
        if hits is None:  # too uneven for cells: the tree answers
            hits = [int(i) for i in self._tree.query(Point(lon, lat), predicate="intersects")]
        if hits:
            return PointResult(self.grids[min(hits)], "inside", 0.0)
        point = Point(lon, lat)
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


class _Cells:
    """Polygons by uniform cell: a point's candidates are the polygons listed in its cell whose bounding box holds
    it, and the answer those of them it intersects (on an edge counts): exactly the STRtree's ``intersects``
    query, without building a Point or going through the tree's wrappers (about a quarter of the time).

    The cell is the median bounding box. A point inside a box always falls in a cell the box was filed under:
    ``floor((x - x0) / width)`` never decreases as ``x`` grows. When filing would take more than
    :data:`_MAX_FILED` entries per polygon (a few huge boxes among small ones), :meth:`holding` answers None.
    """

    def __init__(self, polygons: list[BaseGeometry]) -> None:
        self.polygons = polygons
        self.boxes: list[tuple[float, float, float, float]] = []
        for polygon in polygons:
            min_x, min_y, max_x, max_y = (float(v) for v in polygon.bounds)
            self.boxes.append((min_x, min_y, max_x, max_y))
            shapely.prepare(polygon)
        self.cells: dict[tuple[int, int], list[int]] | None = None
        finite = [b for b in self.boxes if all(map(math.isfinite, b))]  # an empty geometry's box is NaN
        if not finite:
            self.cells = {}
            return
        self.x0 = min(b[0] for b in finite)
        self.y0 = min(b[1] for b in finite)
        widths = sorted(b[2] - b[0] for b in finite)
        heights = sorted(b[3] - b[1] for b in finite)
        self.width = max(widths[len(widths) // 2], 1e-9)
        self.height = max(heights[len(heights) // 2], 1e-9)
        cells: dict[tuple[int, int], list[int]] = {}
        filed = 0
        for n, (min_x, min_y, max_x, max_y) in enumerate(self.boxes):
            if not all(map(math.isfinite, (min_x, min_y, max_x, max_y))):
                continue  # an empty geometry: nothing intersects it
            columns = range(self._column(min_x), self._column(max_x) + 1)
            rows = range(self._row(min_y), self._row(max_y) + 1)
            filed += len(columns) * len(rows)
            if filed > _MAX_FILED * len(polygons):
                return
            for column in columns:
                for row in rows:
                    cells.setdefault((column, row), []).append(n)
        self.cells = cells

    def _column(self, x: float) -> int:
        return math.floor((x - self.x0) / self.width)

    def _row(self, y: float) -> int:
        return math.floor((y - self.y0) / self.height)

    def holding(self, lon: float, lat: float) -> list[int] | None:
        """Indices of the polygons the point intersects, ascending; None when the cells were not built."""
        if self.cells is None:
            return None
        found: list[int] = []
        for n in self.cells.get((self._column(lon), self._row(lat)), ()):
            min_x, min_y, max_x, max_y = self.boxes[n]
            if min_x <= lon <= max_x and min_y <= lat <= max_y and shapely.intersects_xy(self.polygons[n], lon, lat):
                found.append(n)
        return found


_MAX_FILED = 50
"""Cells filed per polygon on average, at most (beyond, the STRtree answers)."""
