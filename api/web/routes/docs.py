"""The API docs, for a signed-in user or a holder of the API token (the app itself serves none)."""
from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import JSONResponse

from api.deps import NowDep, SessionDep, SettingsDep
from api.web.deps import SignInRequired, current_user

router = APIRouter(include_in_schema=False)


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
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} - docs")


@router.get("/redoc")
def redoc(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep):
    _allowed(request, session, settings, now)
    return get_redoc_html(openapi_url="/openapi.json", title=f"{request.app.title} - ReDoc")
