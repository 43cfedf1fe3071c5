"""Pydantic schema of ``routing_rules.yaml``. Unknown keys are rejected; cross-references are checked.

Loading with line numbers lives in :mod:`cases.rules.loader`; this module only knows the shape.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from cases.durations import Limit, parse_duration, parse_limit
from cases.rules.references import cross_reference_errors

AreaKind = Literal["district", "street", "community", "grid"]
Priority = Literal["low", "normal", "urgent", "emergency"]
PRIORITY_RANK: dict[str, int] = {"low": 0, "normal": 1, "urgent": 2, "emergency": 3}
NotifyTarget = Literal["grid_leader", "community_leader", "street_supervisor", "district"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 30m, 2h or 3d, got {value!r}")
    return parse_duration(value)


def _limit(value: Any) -> Limit:
    if isinstance(value, Limit):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a time limit such as 2h or '8 working hours', got {value!r}")
    return parse_limit(value)


def _clock_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 08:30 as the sexagesimal number 510.
        return time(value // 60, value % 60)
    if isinstance(value, str):
        try:
            hour, minute = value.strip().split(":")
            return time(int(hour), int(minute))
        except ValueError:
            pass
    raise ValueError(f"expected a time of day as \"HH:MM\" (for example \"08:30\"), got {value!r}")


Duration = Annotated[timedelta, BeforeValidator(_duration)]
def _limit_text(limit: Limit) -> str:
    """A limit written the way the rules file accepts it (so dumped rules load again)."""
    if limit.working_days:
        return f"{limit.working_days} working days"
    if limit.working:
        return f"{limit.amount.total_seconds() / 3600:g} working hours"
    return f"{limit.amount.total_seconds():g}s"


TimeLimit = Annotated[Limit, BeforeValidator(_limit), PlainSerializer(_limit_text, return_type=str)]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class LocalizedText(_Strict):
    """A text in Chinese and English."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        """The text in ``lang`` ('zh' or 'en'), Chinese when unknown."""
        return self.en if lang == "en" else self.zh


class Defaults(_Strict):
    """Limits used when a category does not set its own."""

    resolve_within: TimeLimit = Limit(timedelta(hours=24))
    claim_within: TimeLimit = Limit(timedelta(hours=2))
    warn_at: float = Field(0.8, gt=0, lt=1, description="warn the holder at this fraction of the limit")
    auto_close_after: Duration = timedelta(days=3)
    locate_within: Duration = Field(
        timedelta(minutes=30),
        description="a report whose place is still unknown after this goes to the district queue",
    )
    reports_per_hour: int = Field(10, ge=1, description="more reports than this per resident are held")


class WorkingHours(_Strict):
    """When working time runs: weekdays, daily hours, public holidays and make-up working days."""

    days: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    start: ClockTime = time(9, 0)
    end: ClockTime = time(18, 0)
    holidays: list[date] = []
    extra_workdays: list[date] = Field([], description="weekend days worked to make up for a holiday")

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError(
                f"working hours start ({self.start:%H:%M}) must be before end ({self.end:%H:%M})"
            )
        return self


class EscalationStep(_Strict):
    """After ``after`` past the resolve deadline, tell ``notify``."""

    after: Duration
    notify: NotifyTarget


class Digest(_Strict):
    """When the daily overdue digest goes out, and to whom."""

    at: ClockTime = time(8, 30)
    to: list[NotifyTarget] = ["street_supervisor", "district"]


AttributeType = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]


class ServiceAttribute(_Strict):
    """A question a city system answers when it opens a request of the category through Open311 (a GeoReport
    v2 service definition attribute): the list types take their answers from ``values`` (key: name)."""

    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: LocalizedText
    datatype: AttributeType = "string"
    required: bool = False
    values: dict[str, LocalizedText] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _lists_have_values(self) -> ServiceAttribute:
        if self.datatype.endswith("valuelist") and not self.values:
            raise ValueError(f"attribute {self.code}: a {self.datatype} needs values")
        if self.values and not self.datatype.endswith("valuelist"):
            raise ValueError(f"attribute {self.code}: only the list types take values")
        return self


class Category(_Strict):
    """A kind of problem with its keywords, limits and priority."""

    name: LocalizedText
    keywords: list[str] = Field(default_factory=list)
    resolve_within: TimeLimit | None = None
    claim_within: TimeLimit | None = None
    priority: Priority = "normal"
    emergency_advice: LocalizedText | None = None
    renamed_from: list[str] = Field(default_factory=list, description="former ids (their tickets are moved here)")
    attributes: list[ServiceAttribute] = Field(
        default_factory=list, description="what a city system answers when it opens one through Open311")

    @field_validator("attributes")
    @classmethod
    def _attribute_codes_unique(cls, value: list[ServiceAttribute]) -> list[ServiceAttribute]:
        codes = [a.code for a in value]
        if len(codes) != len(set(codes)):
            raise ValueError("two attributes have the same code")
        return value

    @field_validator("keywords")
    @classmethod
    def _keywords_not_blank(cls, value: list[str]) -> list[str]:
        for word in value:
            if not str(word).strip():
                raise ValueError("a keyword is empty")
        return value


class DangerSignals(_Strict):
    """Words that make a report an emergency whatever its category (added to the built-in ones)."""

    words: list[str] = Field(default_factory=list)
    advice: LocalizedText | None = Field(
        None, description="sent at once for an emergency whose category has no emergency_advice of its own")


class Area(_Strict):
    """A node of the area tree."""

    kind: AreaKind
    name: LocalizedText | None = None
    children: list[str] = []
    places: list[str] = []
    boundary: list[tuple[float, float]] | None = None
    renamed_from: list[str] = Field(default_factory=list, description="former ids (tickets, staff, groups move)")

    @field_validator("boundary")
    @classmethod
    def _boundary_shape(cls, value: list[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
        if value is None:
            return value
        if len(value) < 3:
            raise ValueError(f"a boundary needs at least 3 [lon, lat] points, got {len(value)}")
        for lon, lat in value:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(
                    f"point [{lon}, {lat}] is not a [lon, lat] pair (lon -180..180, lat -90..90)"
                )
        return value


class Team(_Strict):
    """A specialist team that takes tickets routed to ``team:<id>``."""

    name: LocalizedText
    area: str | None = Field(None, description="area whose leaders hear about this team's overdue tickets")
    renamed_from: list[str] = Field(default_factory=list, description="former ids (tickets and staff move)")


class Route(_Strict):
    """One routing rule. Every given condition must hold; the first matching route wins."""

    category: str | list[str] | None = None
    area: str | None = Field(None, description="matches when the report's grid lies inside this area")
    priority: Priority | None = Field(None, description="matches this priority or higher")
    to: str = Field(description="'grid' (the grid the place falls in), 'grid:<id>' or 'team:<id>'")

    def categories(self) -> list[str]:
        """The categories this route is limited to (empty: any)."""
        if self.category is None:
            return []
        return [self.category] if isinstance(self.category, str) else list(self.category)


class Rules(_Strict):
    """The whole rules file."""

    timezone: str = "Asia/Shanghai"
    defaults: Defaults = Defaults()
    working_hours: WorkingHours = WorkingHours()
    escalation: list[EscalationStep] = [
        EscalationStep(after=timedelta(0), notify="grid_leader"),
        EscalationStep(after=timedelta(hours=4), notify="street_supervisor"),
        EscalationStep(after=timedelta(hours=24), notify="district"),
    ]
    digest: Digest = Digest()
    categories: dict[str, Category]
    areas: dict[str, Area]
    teams: dict[str, Team] = {}
    routes: list[Route] = [Route(to="grid")]
    boundaries_file: str | None = Field(
        None,
        description="GeoJSON file (relative to the rules file) with grid polygons: a FeatureCollection whose "
        "features have properties.area = grid id; the loader merges them into the areas' boundary",
    )
    examples: str | None = Field(
        None, description="labelled routing examples (a .tsv file or a folder of them), relative to the rules file")
    danger_signals: DangerSignals = DangerSignals()
    source_dir: str | None = Field(None, exclude=True, description="set by the loader: the rules file's folder")

    def examples_path(self) -> Path | None:
        """Where the labelled examples are (relative paths are read from the rules file's folder)."""
        if not self.examples:
            return None
        path = Path(self.examples)
        return path if path.is_absolute() or self.source_dir is None else Path(self.source_dir) / path

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @field_validator("escalation")
    @classmethod
    def _escalation_sorted(cls, value: list[EscalationStep]) -> list[EscalationStep]:
        afters = [step.after for step in value]
        if afters != sorted(afters):
            raise ValueError("escalation steps must be in order of 'after', smallest first")
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> Rules:
        # Errors carry a location path so the loader can point at the right line.
        errors = cross_reference_errors({
            "categories": dict.fromkeys(self.categories),
            "areas": {k: _fields(a, _TREE_FIELDS) for k, a in self.areas.items()},
            "routes": [_fields(r, _ROUTE_FIELDS) for r in self.routes],
            "teams": {k: _fields(t, _TEAM_FIELDS) for k, t in self.teams.items()},
        })
        if errors:
            raise RulesCrossReferenceError(errors)
        return self

    # ---- derived views (computed once; the model is frozen) ----

    @cached_property
    def parent_of(self) -> dict[str, str]:
        """Map each area id to its parent's id (the root has none)."""
        return {child: area_id for area_id, area in self.areas.items() for child in area.children}

    @cached_property
    def root(self) -> str:
        """The id of the top of the area tree (the district)."""
        return next(a for a in self.areas if a not in self.parent_of)

    @cached_property
    def grids(self) -> list[str]:
        """Grid ids in file order."""
        return [a for a, area in self.areas.items() if area.kind == "grid"]

    def ancestors(self, area_id: str) -> list[str]:
        """``area_id`` followed by its parent, grandparent, ... up to the root."""
        chain = [area_id]
        while chain[-1] in self.parent_of:
            chain.append(self.parent_of[chain[-1]])
        return chain

    def ancestor_of_kind(self, area_id: str, kind: str) -> str | None:
        """The nearest area of ``kind`` at or above ``area_id``."""
        for candidate in self.ancestors(area_id):
            if self.areas[candidate].kind == kind:
                return candidate
        return None

    def is_within(self, area_id: str, scope: str) -> bool:
        """Whether ``area_id`` is ``scope`` or lies below it."""
        return area_id in self.areas and scope in self.ancestors(area_id)

    def grids_within(self, scope: str) -> list[str]:
        """Every grid inside ``scope`` (itself if it is a grid)."""
        return [g for g in self.grids if self.is_within(g, scope)]

    def responsible_area(self, area: str | None, target: str | None) -> str:
        """The area whose managers answer for a ticket: its grid, a team's area, an area queue, else the root."""
        if area and area in self.areas:
            return area
        kind, _, ref = (target or "").partition(":")
        if kind == "team" and ref in self.teams and self.teams[ref].area:
            return self.teams[ref].area or self.root
        if kind in ("grid", "area") and ref in self.areas:
            return ref
        return self.root

    def area_name(self, area_id: str, lang: str) -> str:
        """Display name of an area (its id when it has no name)."""
        area = self.areas.get(area_id)
        if area is None or area.name is None:
            return area_id
        return area.name.get(lang)

    def category_name(self, category_id: str, lang: str) -> str:
        """Display name of a category."""
        category = self.categories.get(category_id)
        return category.name.get(lang) if category else category_id

    def team_name(self, team_id: str, lang: str) -> str:
        """Display name of a team."""
        team = self.teams.get(team_id)
        return team.name.get(lang) if team else team_id

    def target_name(self, target: str, lang: str) -> str:
        """Display name of a routing target: ``grid:<id>`` or ``team:<id>``."""
        kind, _, ref = target.partition(":")
        return self.team_name(ref, lang) if kind == "team" else self.area_name(ref, lang)

    def resolve_limit(self, category_id: str) -> Limit:
        """The resolve limit of a category, else the default."""
        category = self.categories.get(category_id)
        return (category.resolve_within if category else None) or self.defaults.resolve_within

    def claim_limit(self, category_id: str) -> Limit:
        """The claim limit of a category, else the default."""
        category = self.categories.get(category_id)
        return (category.claim_within if category else None) or self.defaults.claim_within

    @cached_property
    def zone(self) -> ZoneInfo:
        """The rules' time zone."""
        return ZoneInfo(self.timezone)


def _fields(model: BaseModel, names: tuple[str, ...]) -> dict[str, Any]:
    """The named field values of ``model``, as the plain data the cross-reference check reads."""
    return {name: getattr(model, name) for name in names}


_TREE_FIELDS = ("kind", "children", "places", "boundary")
_ROUTE_FIELDS = ("category", "area", "priority", "to")
_TEAM_FIELDS = ("area",)


class RulesCrossReferenceError(ValueError):
    """Several cross-reference problems, each with the path of the offending node."""

    def __init__(self, errors: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(message for _, message in errors))
