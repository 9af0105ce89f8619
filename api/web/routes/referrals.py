"""Managers: their organisation's referrals, a new referral, the released outcome report."""
from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from api.deps import NowDep, SessionDep, SettingsDep
from api.services import referrals
from api.services.cases import CaseNotFound
from api.services.reports import csv_cell
from api.web.deps import Csrf, Forbidden, ManagerUser, WebRoute
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/referrals")
def referral_list(request: Request, user: ManagerUser, session: SessionDep):
    rows = referrals.for_manager(session, user.account)
    return render(request, "referrals.html", {"rows": rows, "done": request.query_params.get("done")})


@router.get("/referrals.csv")
def referral_csv(request: Request, user: ManagerUser, session: SessionDep):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["ref", "kind", "opened", "status", "closed", "outcome_report_released"])
    for row in referrals.for_manager(session, user.account):
        c = row.case
        writer.writerow([csv_cell(v) for v in (c.ref, c.kind, c.created_at.isoformat(), row.status_words,
                                            c.closed_at.isoformat() if c.closed_at else "",
                                            row.released.created_at.isoformat() if row.released else "")])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="referrals.csv"'})


@router.get("/referrals/new")
def new_form(request: Request, user: ManagerUser):
    return render(request, "referral_new.html", {"reasons": referrals.REASONS, "form": {}})


@router.post("/referrals/new", dependencies=[Csrf])
def create(
    request: Request, user: ManagerUser, session: SessionDep, now: NowDep, settings: SettingsDep,
    employee_name: Annotated[str, Form(max_length=200)] = "", employee_role: Annotated[str, Form(max_length=200)] = "",
    employee_hours: Annotated[str, Form(max_length=100)] = "", reason: Annotated[str, Form(max_length=40)] = "",
    details: Annotated[str, Form(max_length=4000)] = "", phone: Annotated[str, Form(max_length=32)] = "",
    consent: Annotated[str, Form(max_length=10)] = "",
    consent_reason_explained: Annotated[str, Form(max_length=10)] = "",
):
    form = {"employee_name": employee_name, "employee_role": employee_role, "employee_hours": employee_hours,
            "reason": reason, "details": details, "phone": phone}
    problems = []
    if not employee_name.strip():
        problems.append("Give the employee's name.")
    if reason not in referrals.REASONS:
        problems.append("Choose the reason for the referral.")
    if consent != "yes" or consent_reason_explained != "yes":
        problems.append("A referral needs the employee's consent, and they must have been told why they are referred.")
    if problems:
        return render(request, "referral_new.html", {"reasons": referrals.REASONS, "form": form, "errors": problems},
                      status_code=400)
    answers = {"employee_name": employee_name.strip(), "employee_role": employee_role.strip() or None,
               "employee_hours": employee_hours.strip() or None, "reason": reason, "consent": True,
               "consent_reason_explained": True, "details": details.strip() or None}
    case = referrals.create_referral(session, user.account, answers={k: v for k, v in answers.items() if v is not None},
                                     phone=phone.strip() or None, now=now, settings=settings)
    session.commit()
    return RedirectResponse(f"/referrals/{case.ref}?done=created", status_code=303)


@router.get("/referrals/{ref}")
def referral_detail(request: Request, ref: str, user: ManagerUser, session: SessionDep):
    try:
        row = referrals.get_for_manager(session, user.account, ref)
    except referrals.NotYourOrganisation:
        raise Forbidden("This referral belongs to another organisation.") from None
    except referrals.NotAReferral:
        raise CaseNotFound(ref) from None
    return render(request, "referral.html", {"r": row, "done": request.query_params.get("done")})
