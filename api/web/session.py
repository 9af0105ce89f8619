"""The signed session cookie and CSRF tokens.

The cookie holds only the account id, when it was issued (by the app's clock) and the CSRF
token; it is signed with SESSION_SECRET (itsdangerous), HttpOnly, SameSite=Lax, and Secure in
production. Whether the account may still act is checked against the database on every request.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.responses import Response

from api.core.config import Settings

SESSION_COOKIE = "oh_session"
LOGIN_COOKIE = "oh_login"  # carries the CSRF token of the sign-in form, before there is a session
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_HOURS = 12  # long enough for a night on call, no longer


class SessionSecretMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class SessionData:
    user_id: int
    issued_at: datetime
    csrf: str


def _serializer(settings: Settings, salt: str) -> URLSafeSerializer:
    if not settings.session_secret:
        raise SessionSecretMissing("SESSION_SECRET is not set: run `make run` once, or set it in .env")
    return URLSafeSerializer(settings.session_secret, salt=salt)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(given: str | None, expected: str | None) -> bool:
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


def _secure(settings: Settings) -> bool:
    return settings.environment == "production" or settings.public_base_url.startswith("https://")


def _set(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=_secure(settings),
                        path="/")


def write_session(response: Response, settings: Settings, *, user_id: int, now: datetime) -> SessionData:
    data = SessionData(user_id=user_id, issued_at=now, csrf=new_token())
    value = _serializer(settings, "oh-web-session").dumps(
        {"u": user_id, "t": now.timestamp(), "c": data.csrf}
    )
    _set(response, settings, SESSION_COOKIE, value, SESSION_HOURS * 3600)
    return data


def read_session(raw: str | None, settings: Settings, *, now: datetime) -> SessionData | None:
    if not raw:
        return None
    try:
        payload = _serializer(settings, "oh-web-session").loads(raw)
        issued = datetime.fromtimestamp(float(payload["t"]), tz=timezone.utc)
        data = SessionData(user_id=int(payload["u"]), issued_at=issued, csrf=str(payload["c"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if not (issued - timedelta(minutes=5) <= now < issued + timedelta(hours=SESSION_HOURS)):
        return None
    return data


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def write_login_token(response: Response, settings: Settings, token: str) -> None:
    _set(response, settings, LOGIN_COOKIE, _serializer(settings, "oh-web-login").dumps(token), 3600)


def read_login_token(raw: str | None, settings: Settings) -> str | None:
    if not raw:
        return None
    try:
        return str(_serializer(settings, "oh-web-login").loads(raw))
    except BadSignature:
        return None
