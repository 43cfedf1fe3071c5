"""Explainable routing of residents' reports: category by keyword, grid by point, place or home area,
target by the first matching route. See :func:`cases.routing.router.route`."""

from cases.routing.router import Report, RouteDecision, RoutingIndex, route

__all__ = ["Report", "RouteDecision", "RoutingIndex", "route"]
