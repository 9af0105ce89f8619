"""Sign-in, sign-out and the home redirect.

The handlers are plain `def`: FastAPI runs them in its threadpool, so the argon2 check (tens of
milliseconds of CPU) never blocks the event loop that answers the chat and the webhooks.
"""
from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from api.deps import NowDep, SessionDep, SettingsDep
from api.services import accounts
from api.web import session as web_session
from api.web import throttle
from api.web.deps import Csrf, CurrentUser, SignInRequired, WebRoute, WebUser, current_user, safe_next
from api.web.forms import Problems
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def home_for(user: WebUser) -> str:
    if user.is_manager:
        return "/referrals"
    return "/dashboard" if user.is_clinical else "/rota"


def _client(request: Request) -> dict[str, str | None]:
    return {"ip": throttle.client_address(request), "user_agent": request.headers.get("user-agent")}


def _problem(field: str, message: str) -> Problems:
    problems = Problems()
    problems.add(field, message)
    return problems


def _login_page(request: Request, settings, *, next_url: str, email: str = "", problems: Problems | None = None,
                status_code: int = 200) -> Response:
    """The form again with what went wrong at the top; the email is kept, the password never is."""
    token = web_session.new_token()
    response = render(request, "login.html", {"login_csrf": token, "next": next_url, "email": email,
                                              "problems": problems}, status_code=status_code)
    web_session.write_login_token(response, settings, token)
    return response


@router.get("/")
def home(user: CurrentUser):
    return RedirectResponse(home_for(user), status_code=303)


@router.get("/login")
def login_form(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, next: str = "/"):
    try:
        user = current_user(request, session, settings, now)
    except SignInRequired:
        return _login_page(request, settings, next_url=safe_next(next))
    return RedirectResponse(safe_next(next, home_for(user)) if next != "/" else home_for(user), status_code=303)


@router.post("/login")
def login(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep,
    email: Annotated[str, Form(max_length=254)] = "", password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "", next: Annotated[str, Form(max_length=2000)] = "/",
):
    expected = web_session.read_login_token(request.cookies.get(web_session.LOGIN_COOKIE), settings)
    if not web_session.tokens_match(csrf_token, expected):
        return _login_page(request, settings, next_url=safe_next(next), email=email, status_code=403,
                           problems=_problem("email", "The sign-in form had expired. Sign in again"))
    guard, client = throttle.for_app(request), _client(request)
    wait = guard.retry_after(client["ip"])
    if wait is not None:
        accounts.record_event(session, type=accounts.EventType.throttled, email=accounts.normalise_email(email),
                              now=now, details={"retry_after": wait}, **client)
        session.commit()
        minutes = math.ceil(wait / 60)
        response = _login_page(request, settings, next_url=safe_next(next), email=email, status_code=429,
                               problems=_problem("email", f"Too many failed sign-ins from your network. Try again "
                                                          f"in {minutes} minute{'s' if minutes != 1 else ''}"))
        response.headers["Retry-After"] = str(wait)
        return response
    missing = Problems()
    if not email.strip():
        missing.add("email", "Enter your email address")
    if not password:
        missing.add("password", "Enter your password")
    if missing:  # nothing to check: not a failed sign-in, so it counts towards no lock
        return _login_page(request, settings, next_url=safe_next(next), email=email, problems=missing,
                           status_code=400)
    result = accounts.authenticate(session, email=email, password=password, now=now, **client)
    session.commit()
    if not result.ok:
        guard.failed(client["ip"])
        if result.locked_until is not None:
            error = (f"This account is locked for {accounts.LOCK_MINUTES} minutes after "
                     f"{accounts.MAX_FAILED_SIGN_INS} failed sign-ins. Try again later or ask an administrator")
        else:
            error = "Email or password not recognised. Check your email address and password and try again"
        return _login_page(request, settings, next_url=safe_next(next), email=email,
                           problems=_problem("email", error), status_code=401)
    user = WebUser(account=result.user, csrf="")
    target = safe_next(next, home_for(user))
    if target in ("/", "/login"):
        target = home_for(user)
    response = RedirectResponse(target, status_code=303)
    web_session.write_session(response, settings, user_id=result.user.id, now=now)
    response.delete_cookie(web_session.LOGIN_COOKIE, path="/")
    return response


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, user: CurrentUser, session: SessionDep, now: NowDep):
    accounts.sign_out(session, user.account, now=now, **_client(request))
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    web_session.clear_session(response)
    return response
