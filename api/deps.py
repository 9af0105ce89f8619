"""Request-scoped dependencies: settings, the database session, the clock, the API token."""
from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.core.config import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


def get_clock(request: Request) -> Callable[[], datetime]:
    return request.app.state.clock


def get_now(clock: Annotated[Callable[[], datetime], Depends(get_clock)]) -> datetime:
    return clock()


_bearer = HTTPBearer(auto_error=False)


def require_token(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    expected = settings.helpline_api_token
    given = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return "api"


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
NowDep = Annotated[datetime, Depends(get_now)]
ApiActor = Annotated[str, Depends(require_token)]
