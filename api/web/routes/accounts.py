"""Accounts (administrators only): the list, inviting someone, an account's page and history,
deactivate, reactivate, a new set-password link, unlock. And the public page where a person
sets their password with a one-time link (api/services/account_admin.py).

The handlers are plain `def`: setting a password runs argon2, which must stay off the event loop.
Destructive changes ask on a confirmation page first (a GET) and act on its POST button.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from api.deps import NowDep, SessionDep, SettingsDep
from api.models import UserAccount
from api.services import account_admin, accounts
from api.web import session as web_session
from api.web.deps import AdminUser, Csrf, WebRoute
from api.web.forms import Problems
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Field = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=1024)]

DONE = {
    "deactivated": "Account deactivated. They are signed out and will not be paged.",
    "reactivated": "Account reactivated. They can sign in, and are paged when they are on a shift.",
    "unlocked": "Account unlocked. They can try to sign in again now.",
}


def _invite_page(request: Request, session: Session, form: dict[str, str], problems: Problems | None = None,
                 status_code: int = 200) -> Response:
    return render(request, "account_new.html", {
        "form": form, "problems": problems or Problems(), "roles": account_admin.ROLE_CHOICES,
        "role_labels": accounts.ROLE_LABELS, "organisations": account_admin.organisations(session),
        "invite_hours": account_admin.INVITE_HOURS,
    }, status_code=status_code)


@router.get("/accounts")
def account_list(request: Request, user: AdminUser, session: SessionDep, now: NowDep):
    return render(request, "accounts.html", {"rows": account_admin.list_accounts(session, now=now)})


@router.get("/accounts/new")
def invite_form(request: Request, user: AdminUser, session: SessionDep):
    return _invite_page(request, session, {"name": "", "email": "", "role": "", "organisation": "", "mobile": ""})


@router.post("/accounts/new", dependencies=[Csrf])
def invite(request: Request, user: AdminUser, session: SessionDep, now: NowDep, settings: SettingsDep,
           name: Field = "", email: Field = "", role: Field = "", organisation: Field = "", mobile: Field = ""):
    form = {"name": name, "email": email, "role": role, "organisation": organisation, "mobile": mobile}
    try:
        invitation = account_admin.check_invitation(session, **form)
        invited = account_admin.invite(session, invitation, by=user.account, now=now, settings=settings)
    except account_admin.InviteProblems as exc:
        problems = Problems()
        for field, message in exc.problems:
            problems.add(field, message)
        return _invite_page(request, session, form, problems, status_code=400)
    session.commit()
    return RedirectResponse(f"/accounts/{invited.user.id}/invited", status_code=303)


@router.get("/accounts/{account_id}/invited")
def invited(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep):
    row = account_admin.account(session, account_id, now=now)
    return render(request, "account_invited.html", {
        "a": row, "link": account_admin.latest_link(session, row.user), "hours": account_admin.INVITE_HOURS})


@router.get("/accounts/{account_id}")
def account_page(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep):
    row = account_admin.account(session, account_id, now=now)
    return render(request, "account.html", {
        "a": row, "events": account_admin.history(session, row.user), "event_words": account_admin.EVENT_WORDS,
        "done": DONE.get(request.query_params.get("done", "")), "link": account_admin.latest_link(session, row.user),
        "sent": request.query_params.get("done") == "link-sent",
    })


# --- confirmation pages and their POSTs ----------------------------------------------------------

def _confirm(request: Request, row: account_admin.AccountRow, action: str, *, error: str | None = None,
             status_code: int = 200) -> Response:
    name = row.user.name
    question, button, button_class = {
        "deactivate": (f"Deactivate {name}?", "Deactivate account", "btn-warning"),
        "reactivate": (f"Reactivate {name}?", "Reactivate account", "btn-primary"),
        "reset-password": (f"Send {name} a new invitation link?" if row.invited else f"Reset {name}’s password?",
                           "Send the link", "btn-primary"),
    }[action]
    return render(request, "account_confirm.html", {"a": row, "action": action, "error": error, "question": question,
                                                    "button": button, "button_class": button_class},
                  status_code=status_code)


def _refused(request: Request, session: Session, account_id: int, action: str, now, exc: Exception) -> Response:
    session.rollback()
    return _confirm(request, account_admin.account(session, account_id, now=now), action, error=str(exc),
                    status_code=409)


@router.get("/accounts/{account_id}/deactivate")
def deactivate_form(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep):
    return _confirm(request, account_admin.account(session, account_id, now=now), "deactivate")


def _change(request: Request, session: Session, account_id: int, action: str, done: str, now,
            change: Callable[[UserAccount], None]) -> Response:
    """Run one change on an account and commit it with its audit row; a refusal redraws the
    confirmation page with the reason."""
    row = account_admin.account(session, account_id, now=now)
    try:
        change(row.user)
    except account_admin.Refused as exc:
        return _refused(request, session, account_id, action, now, exc)
    session.commit()
    return RedirectResponse(f"/accounts/{account_id}?done={done}", status_code=303)


@router.post("/accounts/{account_id}/deactivate", dependencies=[Csrf])
def deactivate(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep,
               settings: SettingsDep):
    return _change(request, session, account_id, "deactivate", "deactivated", now, lambda target: (
        account_admin.deactivate(session, target, by=user.account, now=now, settings=settings)))


@router.get("/accounts/{account_id}/reactivate")
def reactivate_form(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep):
    return _confirm(request, account_admin.account(session, account_id, now=now), "reactivate")


@router.post("/accounts/{account_id}/reactivate", dependencies=[Csrf])
def reactivate(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep):
    return _change(request, session, account_id, "reactivate", "reactivated", now, lambda target: (
        account_admin.reactivate(session, target, by=user.account, now=now)))


@router.get("/accounts/{account_id}/reset-password")
def reset_form(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep):
    return _confirm(request, account_admin.account(session, account_id, now=now), "reset-password")


@router.post("/accounts/{account_id}/reset-password", dependencies=[Csrf])
def reset(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep,
          settings: SettingsDep):
    return _change(request, session, account_id, "reset-password", "link-sent", now, lambda target: (
        account_admin.send_link(session, target, by=user.account, now=now, settings=settings)))


@router.post("/accounts/{account_id}/unlock", dependencies=[Csrf])
def unlock(request: Request, account_id: int, user: AdminUser, session: SessionDep, now: NowDep):
    return _change(request, session, account_id, "unlock", "unlocked", now, lambda target: (
        account_admin.unlock(session, target, by=user.account, now=now)))


# --- the public set-password page ---------------------------------------------------------------

def _set_password_page(request: Request, settings, token: str, *, problems: Problems | None = None,
                       error: str | None = None, status_code: int = 200) -> Response:
    """The form, with a fresh CSRF token in the sign-in form's signed cookie (there is no session)."""
    csrf = web_session.new_token()
    response = render(request, "set_password.html", {
        "token": token, "form_csrf": csrf, "problems": problems or Problems(), "error": error,
        "min_length": accounts.MIN_PASSWORD_LENGTH}, status_code=status_code)
    web_session.write_login_token(response, settings, csrf)
    return response


def _link_unusable(request: Request, exc: account_admin.LinkUnusable) -> Response:
    return render(request, "account_link_unusable.html", {"gone": exc.gone}, status_code=410 if exc.gone else 404)


@router.get("/account/set-password/{token}")
def set_password_form(request: Request, token: str, session: SessionDep, settings: SettingsDep, now: NowDep):
    try:
        account_admin.link_holder(session, token, now=now)
    except account_admin.LinkUnusable as exc:
        return _link_unusable(request, exc)
    return _set_password_page(request, settings, token)


@router.post("/account/set-password/{token}")
def set_password(request: Request, token: str, session: SessionDep, settings: SettingsDep, now: NowDep,
                 password: Password = "", confirm: Password = "",
                 csrf_token: Annotated[str, Form(max_length=128)] = ""):
    try:
        account_admin.link_holder(session, token, now=now)
    except account_admin.LinkUnusable as exc:
        return _link_unusable(request, exc)
    expected = web_session.read_login_token(request.cookies.get(web_session.LOGIN_COOKIE), settings)
    if not web_session.tokens_match(csrf_token, expected):
        return _set_password_page(request, settings, token, status_code=403,
                                  error="The form had expired. Enter your new password again.")
    problems = Problems()
    if not password:
        problems.add("password", "Enter a new password")
    elif len(password) < accounts.MIN_PASSWORD_LENGTH:
        problems.add("password", f"Your password must be {accounts.MIN_PASSWORD_LENGTH} characters or more")
    if password and not confirm:
        problems.add("confirm", "Enter your new password again to confirm it")
    elif password and confirm != password:
        problems.add("confirm", "The passwords do not match. Enter the same password twice")
    if problems:
        return _set_password_page(request, settings, token, problems=problems, status_code=400)
    try:
        account_admin.set_password(session, token, password, now=now)
    except account_admin.LinkUnusable as exc:
        session.rollback()
        return _link_unusable(request, exc)
    session.commit()
    response = RedirectResponse("/login?done=password-set", status_code=303)
    response.delete_cookie(web_session.LOGIN_COOKIE, path="/")
    # A session cookie from before this password belongs to no one who may act now.
    web_session.clear_session(response)
    return response
