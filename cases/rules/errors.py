"""Errors raised when a rules file cannot be loaded, each pointing at a file, line and column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class RuleIssue:
    """One problem in a rules file (or its boundaries file). ``line`` and ``col`` are 1-based; 0 for a
    problem with the whole file (missing, unreadable), which is then shown without a position."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if self.line == 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class RulesError(ValueError):
    """A rules file that could not be loaded; ``issues`` lists every problem found."""

    def __init__(self, issues: list[RuleIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))
