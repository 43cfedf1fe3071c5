"""Leaders' and supervisors' actions from the ticket page: reassign, transfer, cancel with a reason,
release a held report, merge a duplicate. Each POST must carry the session's CSRF token; the service
itself checks role and scope (the same rules as in chat), records the event as made through the console
(``via: console``) and the same people are told through the outbox as when it is done in chat."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot import followups
from cases.db import session_scope
from cases.models import Person
from cases.services import tickets as svc
from cases.services.errors import InvalidInput, NotFound, PermissionDenied
from cases.states import TransitionError
from web.common import Refused, viewer
from web.config import WebConfig
from web.security import csrf_ok

ACTIONS = ("reassign", "transfer", "cancel", "release_hold", "merge")


def _number(raw: str) -> int:
    try:
        return int(raw.strip().lstrip("#"))
    except ValueError:
        raise InvalidInput(f"{raw!r} is not a ticket number") from None


def router(config: WebConfig) -> APIRouter:
    """The action routes, bound to ``config``."""
    actions = APIRouter()
    rules, ctx = config.rules, config.ctx

    @actions.post("/console/tickets/{ticket_id}/{action}")
    async def act(request: Request, ticket_id: int, action: str) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if action not in ACTIONS:
            raise Refused(404, "w_err_not_found")
        now = config.clock()
        try:
            with session_scope(config.engine) as db:
                who = viewer(request, config, db)
                if not csrf_ok(who.session, form.get("csrf") or request.headers.get("X-CSRF-Token")):
                    raise Refused(403, "w_err_csrf")
                db.info["via"] = "console"
                actor = who.person
                reason = form.get("reason", "").strip()
                if action == "reassign":
                    worker = db.get(Person, _number(form.get("worker", "")))
                    if worker is None:
                        raise InvalidInput("choose a worker")
                    ticket = svc.reassign(db, ticket_id=ticket_id, actor=actor, rules=rules, to_worker=worker,
                                          reason=reason or None, now=now)
                    followups.after_reassign(db, ctx, actor, ticket, worker, now=now)
                elif action == "transfer":
                    ticket = svc.transfer(db, ticket_id=ticket_id, actor=actor, rules=rules,
                                          to_target=form.get("target", ""), reason=reason or "-", now=now)
                    followups.after_transfer(db, ctx, actor, ticket, reason, now=now)
                elif action == "cancel":
                    if not reason:
                        raise InvalidInput("a reason is required")
                    ticket = svc.cancel(db, ticket_id=ticket_id, actor=actor, rules=rules, reason=reason, now=now)
                    followups.after_cancel(db, ctx, ticket, reason, now=now)
                elif action == "release_hold":
                    ticket = svc.release_hold(db, ticket_id=ticket_id, actor=actor, rules=rules, now=now)
                    followups.after_release_hold(db, ctx, ticket, now=now)
                else:
                    into = _number(form.get("into", ""))
                    ticket = svc.merge(db, ticket_id=ticket_id, into_id=into, actor=actor, rules=rules,
                                       reason=reason or None, now=now)
                    followups.after_merge(db, ctx, actor, ticket, into, now=now)
        except PermissionDenied:
            raise Refused(403, "w_err_forbidden") from None
        except NotFound:
            raise Refused(404, "w_err_not_found") from None
        except (InvalidInput, TransitionError) as exc:
            raise Refused(400, "w_err_refused", detail=str(exc)) from None
        return RedirectResponse(f"/console/tickets/{ticket_id}?done={action}", status_code=303)

    return actions
