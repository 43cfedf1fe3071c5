"""What every console page shares: who is looking (session → person → scopes), their language, the
templates and the small formatters the templates use. Refusals are raised as :class:`Refused` and shown
as a one-line page in the reader's language with the right status code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from bot.render import area_label, local_time, person_label, priority_label, status_label, target_label
from cases.durations import format_duration
from cases.models import Person
from cases.services.web_access import console_scopes, home_area
from web.config import WebConfig
from web.security import LANG_COOKIE, WebSession, read_session
from web.texts import event_label, wt

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


class Refused(Exception):
    """A request the console will not serve: ``status`` and a catalogue ``key`` (with ``values``)."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


@dataclass
class Viewer:
    """The logged-in staff member looking at a page."""

    person: Person
    session: WebSession
    lang: str
    home: str
    kiosk: bool
    areas: frozenset[str]  # every area the viewer may open


def lang_of(request: Request, person: Person | None = None) -> str:
    """``?lang=`` first, then the language cookie, then the person's own, else Chinese."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in ("zh", "en"):
        return chosen
    return person.language if person is not None and person.language in ("zh", "en") else "zh"


def viewer(request: Request, config: WebConfig, db: Session) -> Viewer:
    """The logged-in staff member, or Refused (401 without a session, 403 without an area scope)."""
    web_session = read_session(request, config.secret)
    if web_session is None:
        raise Refused(401, "w_err_no_session")
    person = db.get(Person, web_session.person_id)
    if person is None or not console_scopes(db, person):
        raise Refused(403, "w_err_forbidden")
    home = home_area(db, config.rules, person)
    if home is None:
        raise Refused(403, "w_err_forbidden")
    rules = config.rules
    scopes = [s for s in console_scopes(db, person) if s in rules.areas]
    areas = frozenset(a for a in rules.areas if any(rules.is_within(a, s) for s in scopes))
    return Viewer(person=person, session=web_session, lang=lang_of(request, person), home=home,
                  kiosk=request.query_params.get("kiosk") == "1", areas=areas)


def pct(rate: float | None) -> str:
    """A rate as ``97.5%`` (``-`` when there is nothing to rate)."""
    return "-" if rate is None else f"{rate * 100:.1f}%"


def duration(seconds: float | None, lang: str) -> str:
    """Seconds to the minute in the reader's language: ``3h 20m`` / ``3小时20分钟`` (``-`` when unknown)."""
    if seconds is None:
        return "-"
    return format_duration(timedelta(seconds=round(seconds / 60) * 60), lang, smallest="m")


def render(request: Request, config: WebConfig, name: str, lang: str, status: int = 200,
           **values: Any) -> HTMLResponse:
    """Render a template with the console's helpers bound to ``lang``."""
    rules = config.rules
    helpers = {
        "t": lambda name, /, **kw: wt(name, lang, **kw),  # positional: a text may have a {key} of its own
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "pct": pct,
        "duration": lambda seconds: duration(seconds, lang),
        "area_name": lambda area: area_label(rules, area, lang),
        "target_name": lambda target: target_label(rules, target, lang),
        "status_name": lambda status: status_label(status, lang),
        "priority_name": lambda p: priority_label(p, lang),
        "category_name": lambda c: rules.category_name(c, lang),
        "person_name": lambda p: person_label(p, lang),
        "when": lambda moment: local_time(rules, moment),
        "event_name": lambda kind: event_label(kind, lang),
        "rules": rules,
    }
    return templates.TemplateResponse(request, name, {**helpers, **values}, status_code=status)


def refusal_page(request: Request, config: WebConfig, refused: Refused) -> HTMLResponse:
    """The one-line page for a refusal."""
    lang = lang_of(request)
    return render(request, config, "error.html", lang, status=refused.status,
                  message=wt(refused.key, lang, **refused.values), viewer=None)


def now_of(config: WebConfig) -> datetime:
    """The app's clock."""
    return config.clock()
