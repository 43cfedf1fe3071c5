"""Layout rules: ``cases/`` is the domain core and never imports telegram; migrations ship in the package."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"


def telegram_imports(source: str) -> list[str]:
    """The telegram modules a piece of Python source imports (at any depth, including inside functions)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "telegram"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            found += [module] if module.split(".")[0] == "telegram" else []
    return found


def test_detector_catches_every_form() -> None:
    assert telegram_imports("import telegram") == ["telegram"]
    assert telegram_imports("from telegram.ext import Application") == ["telegram.ext"]
    assert telegram_imports("def f():\n    import telegram.error as e\n") == ["telegram.error"]
    assert telegram_imports("import telegramish\nfrom . import telegram\n") == []


def test_cases_never_imports_telegram() -> None:
    files = sorted(CASES.rglob("*.py"))
    assert len(files) > 10
    offenders = {str(f.relative_to(ROOT)): hits for f in files if (hits := telegram_imports(f.read_text("utf-8")))}
    assert offenders == {}, f"cases/ must not import telegram: {offenders}"


def test_migrations_are_package_data() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-data"]
    shipped = {p for pattern in patterns["cases"] for p in CASES.glob(pattern)}
    needed = [CASES / "migrations" / "alembic.ini", CASES / "migrations" / "env.py",
              *sorted((CASES / "migrations" / "versions").glob("*.py"))]
    assert len(needed) >= 3 and all(path in shipped for path in needed), sorted(set(needed) - shipped)
