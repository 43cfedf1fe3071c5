"""Open311 API keys: created by an admin, stored only as a SHA-256 hash, scoped to an area, revocable.

Each key has its own Person (a negative, never-real Telegram id) who is the reporter of the tickets the key
opens, so the history names the key. ``check_rate`` allows ``per_hour`` POSTs per key per rolling hour,
counted from the tickets the key's person opened (the database is the one source of truth, so several
processes share the limit).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from cases.models import ApiKey, Person, Ticket
from cases.rules.schema import Rules
from cases.services.errors import InvalidInput, PermissionDenied

API_PERSON_BASE = -(10**13)
"""API keys' people get Telegram ids below this: no real chat ever has one."""


def _hash(key: str) -> str:
    return hashlib.sha256(key.strip().encode()).hexdigest()


def create_key(
    session: Session, *, rules: Rules, name: str, area: str | None, per_hour: int = 60, now: datetime
) -> tuple[ApiKey, str]:
    """A new key and its secret (shown once). Names are unique; ``area`` must be a known area."""
    name = name.strip()
    if not name:
        raise InvalidInput("give the key a name")
    if area is not None and area not in rules.areas:
        raise InvalidInput(f"unknown area {area!r}")
    if per_hour < 1:
        raise InvalidInput("--per-hour must be at least 1")
    if session.exec(select(ApiKey).where(ApiKey.name == name)).first() is not None:
        raise InvalidInput(f"there is already a key named {name!r}")
    secret = "o311_" + secrets.token_urlsafe(24)
    person = Person(telegram_id=API_PERSON_BASE - secrets.randbelow(10**12), name=f"Open311: {name}",
                    language="zh", created_at=now)
    session.add(person)
    session.flush()
    assert person.id is not None
    key = ApiKey(name=name, key_hash=_hash(secret), area=area, per_hour=per_hour, person_id=person.id,
                 created_at=now)
    session.add(key)
    session.flush()
    return key, secret


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first (revoked ones too)."""
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))).all())


def revoke_key(session: Session, *, name: str, now: datetime) -> ApiKey:
    """Revoke the key named ``name`` (idempotent)."""
    key = session.exec(select(ApiKey).where(ApiKey.name == name)).first()
    if key is None:
        raise InvalidInput(f"there is no key named {name!r}")
    if key.revoked_at is None:
        key.revoked_at = now
        session.add(key)
    return key


def authenticate(session: Session, secret: str | None) -> ApiKey:
    """The live key for ``secret``; PermissionDenied when missing, unknown or revoked."""
    if not secret:
        raise PermissionDenied("api_key is required")
    key = session.exec(select(ApiKey).where(ApiKey.key_hash == _hash(secret))).first()
    if key is None or key.revoked_at is not None:
        raise PermissionDenied("api_key is not valid")
    return key


def check_rate(session: Session, key: ApiKey, *, now: datetime) -> None:
    """PermissionDenied when the key already opened ``per_hour`` tickets in the last hour."""
    used = session.exec(
        select(func.count()).select_from(Ticket)
        .where(col(Ticket.reporter_id) == key.person_id, col(Ticket.created_at) > now - timedelta(hours=1))
    ).one()
    if int(used) >= key.per_hour:
        raise PermissionDenied(f"rate limit reached: {key.per_hour} requests per hour for this api_key")


def check_area(rules: Rules, key: ApiKey, area: str | None) -> None:
    """PermissionDenied when a key scoped to an area reports a place outside it (or no place)."""
    if key.area is None:
        return
    if area is None or not rules.is_within(area, key.area):
        raise PermissionDenied(f"this api_key may only report places inside {rules.area_name(key.area, 'en')}")
