"""The area's grids as an SVG map drawn from the rules' boundaries (no tiles): a flat projection of
[lon, lat] onto a fixed-width viewBox, north up, with longitude scaled by cos(latitude)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cases.rules.schema import Rules

WIDTH = 800.0
PAD = 10.0


@dataclass(frozen=True)
class Shape:
    """One grid's polygon in SVG coordinates."""

    grid: str
    points: str
    cx: float
    cy: float


@dataclass(frozen=True)
class Projection:
    """[lon, lat] to SVG x, y."""

    lon0: float
    lat1: float
    scale: float
    kx: float
    height: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        """SVG coordinates of a point."""
        return (PAD + (lon - self.lon0) * self.kx * self.scale, PAD + (self.lat1 - lat) * self.scale)


def project(rules: Rules, grids: list[str]) -> tuple[Projection, list[Shape]] | None:
    """The projection and shapes for ``grids`` with a boundary; None when none has one."""
    outlined = [(g, rules.areas[g].boundary) for g in grids if rules.areas[g].boundary]
    if not outlined:
        return None
    lons = [p[0] for _, b in outlined for p in b or []]
    lats = [p[1] for _, b in outlined for p in b or []]
    kx = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * kx, 1e-9)
    span_y = max(max(lats) - min(lats), 1e-9)
    scale = (WIDTH - 2 * PAD) / span_x
    proj = Projection(lon0=min(lons), lat1=max(lats), scale=scale, kx=kx, height=span_y * scale + 2 * PAD)
    shapes = []
    for grid, boundary in outlined:
        xy = [proj.xy(lon, lat) for lon, lat in boundary or []]
        shapes.append(Shape(grid=grid, points=" ".join(f"{x:.1f},{y:.1f}" for x, y in xy),
                            cx=sum(x for x, _ in xy) / len(xy), cy=sum(y for _, y in xy) / len(xy)))
    return proj, shapes
