"""Load ``routing_rules.yaml`` into :class:`~cases.rules.schema.Rules`, reporting every problem with its
file, line and column.

The YAML is composed into a node tree (which keeps the position of every key and value), checked for
duplicate keys, loaded as plain Python data, optionally merged with a GeoJSON boundaries file, and
validated with pydantic. Each pydantic error location is walked back through the node tree to the
offending key or value. Any problem raises :class:`RulesError`; a malformed file never half-loads.
"""

from __future__ import annotations

import copy
import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from rapidfuzz import fuzz, process
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cases.rules.errors import RuleIssue, RulesError
from cases.rules.geometry import geometry_errors
from cases.rules.references import INVALID, cross_reference_errors
from cases.rules.schema import Rules, RulesCrossReferenceError

__all__ = ["RuleIssue", "RulesError", "load_rules", "load_rules_text"]

Loc = tuple[str | int, ...]

_TYPE_PHRASES: dict[str, str] = {
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of 'key: value' lines",
    "model_type": "a mapping of 'key: value' lines",
    "model_attributes_type": "a mapping of 'key: value' lines",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "date_type": "a date such as 2026-10-01",
    "date_parsing": "a date such as 2026-10-01",
    "date_from_datetime_parsing": "a date such as 2026-10-01",
    "date_from_datetime_inexact": "a date such as 2026-10-01",
}


def load_rules(path: str | Path) -> Rules:
    """Read and validate the rules file at ``path``; raise :class:`RulesError` listing every problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError([RuleIssue(name, 0, 0, "rules file not found")]) from None
    except IsADirectoryError:
        raise RulesError([RuleIssue(name, 0, 0, "is a directory, not a rules file")]) from None
    except UnicodeDecodeError as exc:
        raise RulesError([RuleIssue(name, 0, 0, f"the file is not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise RulesError([RuleIssue(name, 0, 0, f"cannot read the file: {exc.strerror}")]) from None
    return load_rules_text(text, name)


def load_rules_text(text: str, filename: str) -> Rules:
    """Validate YAML ``text``; ``filename`` names it in errors and anchors a relative ``boundaries_file``."""
    return _Loader(filename).load(text)


@dataclass
class _Source:
    """A parsed file: its display name and node tree (``None`` when positions are unknown)."""

    file: str
    root: Node | None
    document: bool = True  # False when ``root`` is a node inside the file (a GeoJSON ring)


@dataclass
class _Spot:
    """Where a location path ended up: the file, the display path and the position."""

    source: _Source
    path: list[str | int]
    line: int
    col: int
    rest: list[str | int]
    node: Node | None = None
    key: Node | None = None
    skipped_at: int | None = None
    deeper: bool = False


class _Loader:
    """One load of one rules file; collects issues instead of stopping at the first."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.issues: list[RuleIssue] = []
        self.main = _Source(filename, None)
        # ('areas', <grid>, 'boundary') -> where that boundary really came from (a GeoJSON ring)
        self.overrides: dict[Loc, _Source] = {}

    # ---- top level ----

    def load(self, text: str) -> Rules:
        """Parse, check and validate ``text``; raise RulesError unless everything is right."""
        yaml = YAML(typ="rt", pure=True)
        try:
            root = yaml.compose(text)
        except YAMLError as exc:
            raise RulesError([self._syntax_issue(self.filename, exc)]) from None
        if root is None:
            self._fail(self.filename, 1, 1, "the rules file is empty; expected sections such as "
                       "'categories:' and 'areas:'")
        self.main.root = root
        if not isinstance(root, MappingNode):
            line, col = _position(root)
            self._fail(self.filename, line, col, "the rules file must be a mapping of sections such as "
                       f"'categories:' and 'areas:', but it is {_node_kind(root)}")
        self._check_duplicates(self.filename, root)
        if self.issues:
            raise RulesError(sorted(self.issues))
        try:
            data = YAML(typ="safe", pure=True).load(text)
        except YAMLError as exc:  # e.g. an unknown !tag
            raise RulesError([self._syntax_issue(self.filename, exc)]) from None
        except ValueError:  # a date such as 2026-02-30 that does not exist
            raise RulesError(self._bad_dates(root) or [RuleIssue(self.filename, 1, 1, "invalid value")]) from None
        if isinstance(data, dict) and isinstance(data.get("boundaries_file"), str):
            self._merge_boundaries(data)
        if isinstance(data, dict):
            data["source_dir"] = str(Path(self.filename).resolve().parent)  # anchors a relative 'examples'
        try:
            rules = Rules.model_validate(data)
        except ValidationError as exc:
            self._report_validation(exc)
            self._report_references_despite(exc, data)
            rules = None
        if self.issues or rules is None:
            raise RulesError(self._sorted_issues())
        for path, message in geometry_errors(rules):
            self._add(self._locate_loc(path), message)
        if self.issues:
            raise RulesError(self._sorted_issues())
        return rules

    def _fail(self, file: str, line: int, col: int, message: str) -> NoReturn:
        """Stop at once with a single issue (nothing else can be checked)."""
        raise RulesError([RuleIssue(file, line, col, message)])

    def _sorted_issues(self) -> list[RuleIssue]:
        unique = list(dict.fromkeys(self.issues))
        return sorted(unique, key=lambda i: (i.file != self.filename, i.file, i.line, i.col))

    # ---- YAML level ----

    def _syntax_issue(self, file: str, exc: YAMLError) -> RuleIssue:
        if not isinstance(exc, MarkedYAMLError):
            return RuleIssue(file, 1, 1, f"YAML syntax error: {exc}")
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        message = f"YAML syntax error: {problem}"
        if exc.context and exc.problem and exc.context_mark is not None:
            message += (f" ({exc.context} that starts at line {exc.context_mark.line + 1}, "
                        f"column {exc.context_mark.column + 1})")
        if "'\\t'" in problem:
            message += "; indent with spaces, not tabs"
        return RuleIssue(file, line, col, message)

    def _bad_dates(self, node: Node) -> list[RuleIssue]:
        """Every date-looking value in the tree that is not a real date."""
        if isinstance(node, MappingNode):
            return [i for pair in node.value for child in pair for i in self._bad_dates(child)]
        if isinstance(node, SequenceNode):
            return [i for child in node.value for i in self._bad_dates(child)]
        if isinstance(node, ScalarNode) and str(node.tag).endswith(":timestamp"):
            try:
                YAML(typ="safe", pure=True).load(node.value)
            except ValueError as exc:
                line, col = _position(node)
                return [RuleIssue(self.filename, line, col, f"{node.value!r} is not a real date ({exc})")]
        return []

    def _check_duplicates(self, file: str, node: Node, seen: set[int] | None = None) -> None:
        seen = set() if seen is None else seen
        if id(node) in seen:  # an alias: already checked where the anchor is
            return
        seen.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[str, ScalarNode] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value != "<<":
                    if key.value in first:
                        earlier = first[key.value].start_mark.line + 1
                        line, col = _position(key)
                        self.issues.append(RuleIssue(
                            file, line, col,
                            f"duplicate key {key.value!r} (already given on line {earlier}); keep only one",
                        ))
                    else:
                        first[key.value] = key
                self._check_duplicates(file, value, seen)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                self._check_duplicates(file, item, seen)

    # ---- GeoJSON boundaries ----

    def _merge_boundaries(self, data: dict[str, Any]) -> None:
        """Copy grid polygons from ``boundaries_file`` into ``data['areas']`` before validation."""
        ref = data["boundaries_file"]
        geo_path = Path(self.filename).parent / ref
        geo_name = str(geo_path)
        spot = self._locate(self.main, ("boundaries_file",))
        try:
            text = geo_path.read_text(encoding="utf-8")
        except OSError:
            self.issues.append(RuleIssue(self.filename, spot.line, spot.col,
                                         f"boundaries_file: file {ref!r} not found next to the rules file"))
            return
        except UnicodeDecodeError:
            self.issues.append(RuleIssue(geo_name, 1, 1, "the boundaries file is not UTF-8 text"))
            return
        try:
            geo = json.loads(text)
        except json.JSONDecodeError as exc:
            self.issues.append(RuleIssue(geo_name, exc.lineno, exc.colno, f"not valid JSON: {exc.msg}"))
            return
        try:
            geo_root = YAML(typ="rt", pure=True).compose(text)
        except YAMLError:
            geo_root = None  # valid JSON that YAML cannot read (rare): positions fall back to 1:1
        source = _Source(geo_name, geo_root)

        def issue(loc: Loc, message: str) -> None:
            where = self._locate(source, loc)
            self.issues.append(RuleIssue(geo_name, where.line, where.col, message))

        if not isinstance(geo, dict) or geo.get("type") != "FeatureCollection":
            issue((), 'expected a GeoJSON FeatureCollection: {"type": "FeatureCollection", "features": [..]}')
            return
        features = geo.get("features")
        if not isinstance(features, list):
            issue(("features",) if "features" in geo else (), "expected 'features' to be a list of features")
            return
        areas = data.get("areas") if isinstance(data.get("areas"), dict) else {}
        assert isinstance(areas, dict)
        done: dict[str, int] = {}
        for index, feature in enumerate(features):
            here: Loc = ("features", index)
            props = feature.get("properties") if isinstance(feature, dict) else None
            area_id = props.get("area") if isinstance(props, dict) else None
            if not isinstance(area_id, str):
                issue(here, f"feature {index}: expected properties.area to name a grid id")
                continue
            area = areas.get(area_id)
            if not isinstance(area, dict):
                issue((*here, "properties", "area"),
                      f"feature {index}: area {area_id!r} is not defined under 'areas' in the rules file")
                continue
            if area_id in done:
                issue((*here, "properties", "area"), f"feature {index}: area {area_id!r} already has a "
                      f"boundary in feature {done[area_id]}")
                continue
            if "boundary" in area:
                issue((*here, "properties", "area"), f"feature {index}: area {area_id!r} also has a boundary "
                      "in the rules file; give it in one place only")
                continue
            geometry = feature.get("geometry")
            coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
                issue((*here, "geometry"), f"feature {index}: expected a Polygon geometry")
                continue
            if not isinstance(coords, list) or not coords or not isinstance(coords[0], list):
                issue((*here, "geometry", "coordinates"),
                      f"feature {index}: expected Polygon coordinates: a list of rings of [lon, lat] points")
                continue
            ring = [p[:2] if isinstance(p, list) else p for p in coords[0]]
            if len(ring) > 1 and ring[0] == ring[-1]:
                ring = ring[:-1]  # GeoJSON repeats the first point at the end; inline boundaries do not
            area["boundary"] = ring
            done[area_id] = index
            ring_node = self._locate(source, (*here, "geometry", "coordinates", 0))
            if not ring_node.rest:
                self.overrides[("areas", area_id, "boundary")] = _Source(geo_name, ring_node.node, document=False)

    # ---- pydantic errors ----

    def _report_validation(self, exc: ValidationError) -> None:
        errors = exc.errors()
        unions: dict[Loc, list[tuple[_Spot, ErrorDetails]]] = {}
        for error in errors:
            cause = _cross_reference_cause(error)
            if cause is not None:
                for path, message in cause.errors:
                    spot = self._locate_loc((*error["loc"], *path))
                    self._add(spot, message)
                continue
            spot = self._locate_loc(error["loc"])
            if error["type"] in ("missing", "extra_forbidden"):
                self._add_key_error(spot, error)
            elif spot.skipped_at is not None and error["loc"][-1] != "[key]":
                # one member of a union (e.g. text or a list of texts): decided below, per union
                unions.setdefault(tuple(error["loc"][: spot.skipped_at]), []).append((spot, error))
            else:
                self._add(spot, self._value_message(error))
        for group in unions.values():
            deeper = [(spot, e) for spot, e in group if spot.deeper]
            shallow = [(spot, e) for spot, e in group if e["type"] in _TYPE_PHRASES]
            if deeper or len(shallow) != len(group):
                # the value had the right shape for one member: its own errors say what is wrong inside
                for spot, e in deeper or group:
                    self._add(spot, self._value_message(e))
                continue
            spot, first = group[0]
            phrases = list(dict.fromkeys(_TYPE_PHRASES[e["type"]] for _, e in group))
            self._add(spot, f"expected {' or '.join(phrases)}, got {_describe(first['input'])}")

    def _report_references_despite(self, exc: ValidationError, data: Any) -> None:
        """Values failed validation, so the schema's cross-reference check never ran: run it on the raw
        data with those values blanked out, so one run reports every problem (not one kind per fix)."""
        errors = exc.errors()
        if any(_cross_reference_cause(e) is not None for e in errors):
            return  # the values were valid and the check ran
        blanked = copy.deepcopy(data)
        for error in errors:
            _blank(blanked, error["loc"])
        for path, message in cross_reference_errors(blanked):
            self._add(self._locate_loc(path), message)

    def _add(self, spot: _Spot, message: str) -> None:
        prefix = _dotted(spot.path)
        self.issues.append(RuleIssue(spot.source.file, spot.line, spot.col,
                                     f"{prefix}: {message}" if prefix else message))

    def _add_key_error(self, spot: _Spot, error: ErrorDetails) -> None:
        loc = error["loc"]
        key = loc[-1]
        parent = loc[:-1]
        if error["type"] == "missing":
            where = f"{_dotted(spot.path)}: " if spot.path else ""
            self.issues.append(RuleIssue(spot.source.file, spot.line, spot.col,
                                         f"{where}missing required key {key!r}"))
            return
        # extra_forbidden: the unknown key exists in the file, so point at that key
        line, col = _position(spot.key) if spot.key is not None and not spot.rest else (spot.line, spot.col)
        allowed = _allowed_keys(parent)
        message = f"unknown key {key!r}"
        if allowed:
            match = process.extractOne(str(key), allowed, scorer=fuzz.ratio, score_cutoff=60)
            if match is not None:
                message += f" (did you mean {match[0]!r}?)"
            message += f"; expected one of {', '.join(allowed)}"
        where = _dotted(spot.path[:-1]) if spot.path and spot.path[-1] == key else _dotted(spot.path)
        if not where:
            message = message.replace("unknown key", "unknown top-level key", 1)
        self.issues.append(RuleIssue(spot.source.file, line, col, f"{where}: {message}" if where else message))

    def _value_message(self, error: ErrorDetails) -> str:
        kind = error["type"]
        ctx = error.get("ctx") or {}
        value = error.get("input")
        if kind in ("value_error", "assertion_error") and "error" in ctx:
            return str(ctx["error"])
        if error["loc"] and error["loc"][-1] == "[key]":
            return f"the id {value!r} must be text; put it in quotes"
        if kind == "literal_error":
            options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
            message = f"{_describe(value)} is not allowed; expected one of {', '.join(options)}"
            if isinstance(value, str) and options:
                match = process.extractOne(value, options, scorer=fuzz.ratio, score_cutoff=60)
                if match is not None:
                    message += f" (did you mean {match[0]!r}?)"
            return message
        if kind in _TYPE_PHRASES:
            message = f"expected {_TYPE_PHRASES[kind]}, got {_describe(value)}"
            if kind == "list_type" and isinstance(value, str):
                message += "; write a list as [a, b, c] or as one '- item' per line"
            return message
        if kind in ("too_short", "too_long"):
            wanted = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
            bound = "at least" if kind == "too_short" else "at most"
            if isinstance(value, list) and len(error["loc"]) >= 2 and "boundary" in error["loc"]:
                return f"a point must be [lon, lat] (2 numbers), got {len(value)} numbers"
            return f"expected {bound} {wanted} items, got {ctx.get('actual_length', '?')}"
        if kind == "string_too_short":
            return "must not be empty"
        bounds = {"greater_than": "greater than", "greater_than_equal": "at least",
                  "less_than": "less than", "less_than_equal": "at most"}
        if kind in bounds:
            limit = next(iter(ctx.values()), "?")
            return f"must be {bounds[kind]} {limit}, got {_describe(value)}"
        text = error["msg"]
        return f"{text[:1].lower()}{text[1:]}, got {_describe(value)}"

    # ---- positions ----

    def _locate_loc(self, loc: Loc) -> _Spot:
        """Find ``loc`` (a pydantic location) in the rules file or in the boundaries file it came from."""
        for prefix, source in self.overrides.items():
            if loc[: len(prefix)] == prefix:
                inner = self._locate(source, tuple(loc[len(prefix):]))
                inner.path = [*prefix, *inner.path]
                return inner
        return self._locate(self.main, loc)

    def _locate(self, source: _Source, loc: Loc) -> _Spot:
        """Walk ``loc`` down the node tree. Components not in the file (union tags, a missing key) are
        skipped and listed in ``rest``. The position is the value for a scalar, else the key naming it."""
        node = source.root
        key_node: Node | None = None
        path: list[str | int] = []
        rest: list[str | int] = []
        skipped_at: int | None = None
        deeper = False
        for index, comp in enumerate(loc):
            child: tuple[Node | None, Node] | None = None
            if isinstance(node, MappingNode):
                for key, value in node.value:
                    if isinstance(key, ScalarNode) and key.value == str(comp):
                        child = (key, value)
            elif isinstance(node, SequenceNode) and isinstance(comp, int) and 0 <= comp < len(node.value):
                child = (None, node.value[comp])
            if child is None:
                rest.append(comp)
                skipped_at = index if skipped_at is None else skipped_at
                continue
            deeper = skipped_at is not None
            key_node, node = child
            path.append(comp)
        if node is None or (not path and source.document):
            return _Spot(source, path, 1, 1, rest, node, key_node, skipped_at, deeper)
        target = key_node if key_node is not None and not isinstance(node, ScalarNode) else node
        line, col = _position(target)
        return _Spot(source, path, line, col, rest, node, key_node, skipped_at, deeper)


def _cross_reference_cause(error: ErrorDetails) -> RulesCrossReferenceError | None:
    """The schema's cross-reference check behind a pydantic error, if that is what raised it."""
    cause = (error.get("ctx") or {}).get("error")
    return cause if isinstance(cause, RulesCrossReferenceError) else None


def _blank(data: Any, loc: Loc) -> None:
    """Replace the value at ``loc`` in ``data`` with :data:`INVALID`. A union member's name at the end of
    pydantic's path blanks the value itself; a key missing from a mapping blanks nothing."""
    container: Any = None
    key: Any = None
    node = data
    for part in loc:
        if isinstance(node, dict):
            if part not in node:
                return
        elif not (isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)):
            break
        container, key, node = node, part, node[part]
    if container is not None:
        container[key] = INVALID


def _position(node: Node) -> tuple[int, int]:
    """1-based line and column of a node."""
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def _node_kind(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode):
        return f"the text {node.value!r}"
    return "something else"


def _dotted(path: list[str | int] | Loc) -> str:
    """``['routes', 2, 'to']`` -> ``routes[2].to``."""
    out = ""
    for comp in path:
        if isinstance(comp, int):
            out += f"[{comp}]"
        else:
            out += f".{comp}" if out else str(comp)
    return out


def _describe(value: Any) -> str:
    """Say what an input value is, in words an admin understands."""
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the schema accepts at ``loc`` (a pydantic location), in definition order."""
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _model_at(loc: Loc) -> type[BaseModel] | None:
    annotation: Any = Rules
    for comp in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(comp))
            if field is None:
                return None
            annotation = field.annotation
            continue
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is dict and len(args) == 2:
            annotation = args[1]
        elif origin is list and args:
            annotation = args[0]
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
