"""Who may open the web console, and the one-time login links that let them in.

A link carries a random token and its HMAC under the server's secret; only the token's SHA-256 is stored.
A link is redeemed at most once (a conditional UPDATE on ``used_at IS NULL`` decides), only before it
expires, and only for a person who still holds a staff role. Area access follows the person's staff
scopes: an area is viewable when it lies within one of them (team scopes see their team's tickets only).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from cases.db import rowcount
from cases.models import Person, WebLogin
from cases.rules.schema import Rules
from cases.services.authz import roles_of, staff_scopes
from cases.services.errors import PermissionDenied, ServiceError

LINK_LIFETIME = timedelta(minutes=10)


class LoginRefused(ServiceError):
    """A login link that is forged, unknown, expired or already used."""


def _sign(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), b"web-login:" + token.encode(), hashlib.sha256).hexdigest()[:32]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_login(session: Session, *, person: Person, secret: str, now: datetime) -> str:
    """A fresh one-time login credential (``token.signature``) for a staff member; residents are refused."""
    if person.id is None or not roles_of(session, person.id):
        raise PermissionDenied("the console is for staff: ask a supervisor for an invite first")
    token = secrets.token_urlsafe(24)
    session.add(WebLogin(token_hash=_hash(token), person_id=person.id, created_at=now,
                         expires_at=now + LINK_LIFETIME))
    session.flush()
    return f"{token}.{_sign(secret, token)}"


def redeem_login(session: Session, *, credential: str, secret: str, now: datetime) -> Person:
    """The person a valid credential logs in; marks it used. LoginRefused otherwise."""
    token, _, signature = credential.partition(".")
    if not token or not hmac.compare_digest(signature.encode(), _sign(secret, token).encode()):
        raise LoginRefused("this login link is not valid")
    digest = _hash(token)
    used = session.execute(
        update(WebLogin)
        .where(col(WebLogin.token_hash) == digest, col(WebLogin.used_at).is_(None), col(WebLogin.expires_at) > now)
        .values(used_at=now)
    )
    if rowcount(used) != 1:
        row = session.exec(select(WebLogin).where(WebLogin.token_hash == digest)).first()
        if row is None:
            raise LoginRefused("this login link is not valid")
        if row.used_at is not None:
            raise LoginRefused("this login link was already used; ask the bot for a new one with /console")
        raise LoginRefused("this login link has expired; ask the bot for a new one with /console")
    row = session.exec(select(WebLogin).where(WebLogin.token_hash == digest)).one()
    person = session.get(Person, row.person_id)
    if person is None or not roles_of(session, row.person_id):
        raise LoginRefused("you no longer hold a staff role")
    return person


def console_scopes(session: Session, person: Person) -> list[str]:
    """The scopes a person sees in the console (empty: no access)."""
    return staff_scopes(session, person.id) if person.id is not None else []


def may_view_area(session: Session, rules: Rules, person: Person, area: str) -> bool:
    """Whether ``area`` lies within one of the person's (area) staff scopes."""
    return any(not scope.startswith("team:") and scope in rules.areas and rules.is_within(area, scope)
               for scope in console_scopes(session, person))


def home_area(session: Session, rules: Rules, person: Person) -> str | None:
    """The broadest area the person oversees (where the console opens), None for team-only staff."""
    areas = [s for s in console_scopes(session, person) if s in rules.areas]
    for area in areas:
        if not any(other != area and rules.is_within(area, other) for other in areas):
            return area
    return None

