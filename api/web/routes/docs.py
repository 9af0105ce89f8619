"""The API docs, for a signed-in user or a holder of the API token (the app itself serves none)."""
from __future__ import annotations

import hmac
from html import escape
from importlib.resources import files

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api.deps import NowDep, SessionDep, SettingsDep
from api.web.deps import SignInRequired, current_user

router = APIRouter(include_in_schema=False)
# Swagger UI's and ReDoc's files from the installed fastapi-offline package (pinned in
# requirements/api.txt), served by the API itself: the docs load no script from a CDN, and the
# pages' CSP (script-src 'self') holds. The start-up script is ours (static/docs-init.js): no
# inline script.
ASSETS = "/static/docs"
router.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-static")
# ReDoc styles itself with <style> elements and searches in a blob: worker: its page alone allows
# inline styles and that worker. Scripts stay 'self' only.
REDOC_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
             "worker-src 'self' blob:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
             "object-src 'none'")


def _allowed(request: Request, session, settings, now) -> None:
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    expected = settings.helpline_api_token
    if expected and token and hmac.compare_digest(token.encode(), expected.encode()):
        return
    try:
        current_user(request, session, settings, now)
    except SignInRequired:
        raise HTTPException(401, "sign in or send the API token", headers={"WWW-Authenticate": "Bearer"}) from None


@router.get("/openapi.json")
def openapi(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep):
    _allowed(request, session, settings, now)
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def swagger(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep):
    _allowed(request, session, settings, now)
    return HTMLResponse(_page(
        f"{request.app.title} - docs",
        head=f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">',
        body=('<div id="swagger-ui" data-openapi-url="/openapi.json"></div>'
              f'<script src="{ASSETS}/swagger-ui-bundle.js"></script>'
              '<script src="/static/web/docs-init.js"></script>')),
        headers={"Cache-Control": "no-store"})


@router.get("/redoc")
def redoc(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep):
    _allowed(request, session, settings, now)
    return HTMLResponse(_page(
        f"{request.app.title} - ReDoc", head="",
        body=f'<redoc spec-url="/openapi.json"></redoc><script src="{ASSETS}/redoc.standalone.js"></script>'),
        headers={"Cache-Control": "no-store", "Content-Security-Policy": REDOC_CSP})


def _page(title: str, *, head: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="{ASSETS}/favicon.png">{head}</head><body>{body}</body></html>')
