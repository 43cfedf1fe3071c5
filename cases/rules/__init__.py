"""The rules file: schema (pydantic) and loading with file/line/column errors."""

from cases.rules.schema import Area, Category, Route, Rules, Team

__all__ = ["Area", "Category", "Route", "Rules", "Team"]
