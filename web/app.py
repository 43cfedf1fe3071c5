"""The FastAPI application: login/logout, the console pages and actions, the Open311 API and the
package's static files (nothing is fetched from elsewhere). Tracebacks never reach a reader."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cases.db import session_scope
from cases.services.web_access import LoginRefused, redeem_login
from web import actions, pages
from web.common import HERE, Refused, lang_of, refusal_page, render
from web.config import WebConfig
from web.open311_api import router as open311_router
from web.security import LANG_COOKIE, end_session, start_session

log = logging.getLogger(__name__)


def create_app(config: WebConfig) -> FastAPI:
    """The console + API application over ``config``."""
    app = FastAPI(title="Gridbot console", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(open311_router(config))
    app.include_router(pages.router(config))
    app.include_router(actions.router(config))

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        return refusal_page(request, config, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        key = "w_err_not_found" if exc.status_code == 404 else "w_err_forbidden"
        return refusal_page(request, config, Refused(exc.status_code, key))

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        return refusal_page(request, config, Refused(400, "w_err_input", detail="-"))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("console error on %s", request.url.path)  # the path only: it never holds a secret
        return refusal_page(request, config, Refused(500, "w_err_refused", detail="-"))

    @app.get("/login/{credential}", response_class=HTMLResponse)
    def login_page(request: Request, credential: str) -> Response:
        """A button that logs in: the link itself changes nothing, so a chat's link preview or a mail
        scanner fetching it does not use up the one-time credential."""
        lang = lang_of(request)
        return render(request, config, "login.html", lang, viewer=None, credential=credential)

    @app.post("/login")
    async def login(request: Request) -> Response:
        credential = str((await request.form()).get("credential") or "")
        try:
            with session_scope(config.engine) as db:
                person = redeem_login(db, credential=credential, secret=config.secret, now=config.clock())
                person_id, language = person.id, person.language
        except LoginRefused:
            raise Refused(403, "w_err_login") from None
        assert person_id is not None
        response = RedirectResponse("/console", status_code=303)
        start_session(response, request, config.secret, person_id)
        response.set_cookie(LANG_COOKIE, language, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
        return response

    @app.get("/logout")
    def logout() -> Response:
        response = RedirectResponse("/", status_code=303)
        end_session(response)
        return response

    @app.get("/", response_class=HTMLResponse)
    def home() -> Response:
        return RedirectResponse("/console", status_code=303)

    return app
