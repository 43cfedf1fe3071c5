"""Console sessions and CSRF.

The session is a signed, timestamped cookie (HttpOnly, SameSite=Lax, Secure over https) holding the
person id and a random CSRF token; it is valid for ``SESSION_HOURS``. Every POST must echo the token in
the ``csrf`` form field or the ``X-CSRF-Token`` header, compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from web.config import SESSION_HOURS

COOKIE = "gridbot_console"
LANG_COOKIE = "gridbot_lang"


@dataclass(frozen=True)
class WebSession:
    """Who is logged in, and the token their forms must carry."""

    person_id: int
    csrf: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="gridbot-console-session")


def start_session(response: Response, request: Request, secret: str, person_id: int) -> WebSession:
    """Set a fresh session cookie for ``person_id`` on ``response``."""
    session = WebSession(person_id=person_id, csrf=secrets.token_urlsafe(18))
    value = _serializer(secret).dumps({"p": person_id, "c": session.csrf})
    response.set_cookie(COOKIE, value, max_age=SESSION_HOURS * 3600, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")
    return session


def read_session(request: Request, secret: str) -> WebSession | None:
    """The request's valid session, or None (no cookie, bad signature, expired)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(secret).loads(raw, max_age=SESSION_HOURS * 3600)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("p"), int) or not isinstance(data.get("c"), str):
        return None
    return WebSession(person_id=data["p"], csrf=data["c"])


def end_session(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(COOKIE, path="/")


def csrf_ok(session: WebSession, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token."""
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), (sent or "").encode())
