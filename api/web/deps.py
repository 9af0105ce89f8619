"""Who is asking, and may they: the signed-in user, role guards, CSRF, and the route class that
turns refusals into proper pages (sign-in redirect, 403, 404) instead of JSON."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response

from api.deps import NowDep, SessionDep, SettingsDep
from api.domain.case_lifecycle import IllegalTransition
from api.models import UserAccount
from api.services import accounts
from api.services.accounts import Role
from api.services.cases import CaseNotFound
from api.services.directory import NotFound
from api.web import session as web_session

log = logging.getLogger(__name__)


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str = "You do not have access to this page.") -> None:
        super().__init__(message)


class CsrfFailed(Exception):
    pass


@dataclass(frozen=True)
class WebUser:
    account: UserAccount
    csrf: str

    @property
    def id(self) -> int:
        return self.account.id

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def role(self) -> Role:
        return Role(self.account.role)

    @property
    def role_label(self) -> str:
        return accounts.ROLE_LABELS[self.role]

    @property
    def is_staff(self) -> bool:
        return self.role in accounts.STAFF

    @property
    def is_clinical(self) -> bool:
        return self.role in accounts.CLINICAL

    @property
    def can_edit_rota(self) -> bool:
        return self.role in accounts.ROTA_EDITORS

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_manager(self) -> bool:
        return self.role == Role.manager

    @property
    def actor(self) -> str:
        """How the user appears in case audit events."""
        return f"{self.account.name} ({self.role.value})"


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def current_user(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> WebUser:
    data = web_session.read_session(request.cookies.get(web_session.SESSION_COOKIE), settings, now=now)
    user = accounts.session_user(session, user_id=data.user_id, issued_at=data.issued_at) if data else None
    if user is None:
        raise SignInRequired()
    web_user = WebUser(account=user, csrf=data.csrf)
    request.state.user = web_user
    return web_user


CurrentUser = Annotated[WebUser, Depends(current_user)]


def require_roles(*roles: Role, message: str = "You do not have access to this page.") -> Callable[..., WebUser]:
    allowed = frozenset(roles)

    def guard(user: CurrentUser) -> WebUser:
        if user.role not in allowed:
            raise Forbidden(message)
        return user

    return guard


StaffUser = Annotated[WebUser, Depends(require_roles(*accounts.STAFF))]
# Reading clinical content (the queue, a case and its transcript, reports): not for admins.
ClinicalReader = Annotated[WebUser, Depends(require_roles(
    *accounts.CLINICAL, message="Cases, transcripts, the queue and reports are for OH practitioners and "
                                "clinical leads."))]
ClinicalUser = Annotated[WebUser, Depends(require_roles(
    *accounts.CLINICAL, message="Only practitioners and clinical leads can change a case."))]
RotaEditor = Annotated[WebUser, Depends(require_roles(
    *accounts.ROTA_EDITORS, message="Only admins and clinical leads can change the rota."))]
AdminUser = Annotated[WebUser, Depends(require_roles(Role.admin, message="Only administrators manage accounts."))]
ManagerUser = Annotated[WebUser, Depends(require_roles(Role.manager, message="This page is for managers."))]


async def csrf_protect(request: Request, user: CurrentUser) -> WebUser:
    """Every state-changing request carries the session's CSRF token, in the form or a header."""
    given = request.headers.get(web_session.CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            given = (await request.form()).get(web_session.CSRF_FIELD)
    if not web_session.tokens_match(given if isinstance(given, str) else None, user.csrf):
        raise CsrfFailed()
    return user


Csrf = Depends(csrf_protect)


class WebRoute(APIRoute):
    """Runs a page handler and turns refusals into pages; adds the pages' security headers."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = _sign_in_response(request)
            except Forbidden as exc:
                response = _error(request, 403, "Not allowed", str(exc))
            except CsrfFailed:
                response = _error(request, 403, "Form expired",
                                  "This form is out of date or was not sent from this site. "
                                  "Reload the page and try again.")
            except (CaseNotFound, NotFound):
                response = _error(request, 404, "Not found", "There is nothing at this address.")
            except IllegalTransition as exc:
                response = _error(request, 409, "Not possible now", str(exc))
            except web_session.SessionSecretMissing as exc:
                log.error("%s", exc)
                response = _error(request, 503, "Not configured", "Sign-in is not configured on this server.")
            _harden(response)
            return response

        return run


def _sign_in_response(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    login = f"/login?next={quote(target, safe='')}"
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": login})
    if request.method in ("GET", "HEAD"):
        return RedirectResponse(login, status_code=303)
    return _error(request, 401, "Sign in needed", "Your session has ended. Sign in again.", login_link=login)


def _error(request: Request, status: int, title: str, message: str, login_link: str | None = None) -> Response:
    from api.web.rendering import render

    return render(request, "error.html", {"title": title, "message": message, "login_link": login_link},
                  status_code=status)


CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


def _harden(response: Response) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cache-Control", "no-store")
