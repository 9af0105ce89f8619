"""Request-scoped dependencies: settings, the database session, the clock, and who is calling.

Three bearer tokens, three kinds of caller (issue #15, least privilege):

- `operator` (HELPLINE_API_TOKEN): everything the JSON API offers.
- `bot` (HELPLINE_BOT_TOKEN): only what the action server does (actions/api_client.py): open a
  case for its conversation, and update, note, record what was said on, page a person for, and
  read the status of the cases its conversation opened (the conversation is named in the
  X-Conversation-Id header; see `conversation_id`).
- `metrics` (METRICS_TOKEN): GET /metrics only.

A token that is not configured matches nothing. A known token on a route that does not accept
its kind is refused with 403 (not 401: it is not a sign-in problem, and retrying will not help).
"""
from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Header, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.core.config import Settings

Kind = Literal["operator", "bot", "metrics"]

#: the header the action server names its conversation in (Rasa's sender id)
CONVERSATION_HEADER = "X-Conversation-Id"


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


def get_clock(request: Request) -> Callable[[], datetime]:
    return request.app.state.clock


def get_now(clock: Annotated[Callable[[], datetime], Depends(get_clock)]) -> datetime:
    return clock()


@dataclass(frozen=True)
class Principal:
    """Who a bearer token says is calling. `name` is what audit events record as the actor."""

    kind: Kind
    name: str

    @property
    def actor(self) -> str:
        return self.name


OPERATOR = Principal(kind="operator", name="operator")
BOT = Principal(kind="bot", name="bot")
METRICS = Principal(kind="metrics", name="metrics")


def principal_for(settings: Settings, token: str) -> Principal | None:
    """The caller a token names, or None. Every configured token is compared (in constant time),
    so the answer's timing says nothing about which one was nearly right. Should two settings
    hold the same value, the stronger identity wins (the production check refuses that anyway)."""
    found: Principal | None = None
    given = token.encode()
    for principal, expected in ((METRICS, settings.metrics_token), (BOT, settings.helpline_bot_token),
                                (OPERATOR, settings.helpline_api_token)):
        if expected and hmac.compare_digest(given, expected.encode()):
            found = principal
    return found


_bearer = HTTPBearer(auto_error=False)


def authenticate(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    principal = principal_for(settings, credentials.credentials if credentials else "")
    if principal is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def allow(*kinds: Kind) -> Callable[[Principal], Principal]:
    """A dependency that lets only these kinds of caller through (403 for the others)."""
    allowed = frozenset(kinds)

    def _allowed(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.kind not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {principal.kind} token may not do this")
        return principal

    return _allowed


def conversation_id(
    header: Annotated[str | None, Header(alias=CONVERSATION_HEADER, max_length=128)] = None,
    query: Annotated[str | None, Query(alias="conversation_id", max_length=128,
                                       description="The asking conversation (the bot's callers)")] = None,
) -> str | None:
    """The conversation the caller speaks for: the header, else the query parameter."""
    return (header or query or "").strip() or None


def require_token(principal: Annotated[Principal, Depends(allow("operator"))]) -> str:
    """The operator token only; the actor name. (Kept for routes written before the bot and
    metrics tokens: anything that names it stays operator-only.)"""
    return principal.actor


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
NowDep = Annotated[datetime, Depends(get_now)]
#: the operator's token only
Operator = Annotated[Principal, Depends(allow("operator"))]
#: the operator's token or the action server's (the route then limits the bot to its conversation)
OperatorOrBot = Annotated[Principal, Depends(allow("operator", "bot"))]
#: the operator's token or Prometheus's
OperatorOrMetrics = Annotated[Principal, Depends(allow("operator", "metrics"))]
ConversationDep = Annotated[str | None, Depends(conversation_id)]
#: the operator's token only; the audit actor it records
ApiActor = Annotated[str, Depends(require_token)]
