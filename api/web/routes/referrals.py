"""Managers: their organisation's referrals, a new referral, the released outcome report."""
from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from api.deps import NowDep, SessionDep, SettingsDep
from api.services import referrals
from api.services.cases import CaseNotFound
from api.services.reports import csv_cell
from api.web.deps import Csrf, Forbidden, ManagerUser, WebRoute, WebUser
from api.web.forms import Problems
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

# The manager's list and its CSV say the same: one status, in the same words.
CSV_COLUMNS = ["ref", "employee_name", "kind", "opened", "status", "closed", "outcome_report_released"]


@router.get("/referrals")
def referral_list(request: Request, user: ManagerUser, session: SessionDep):
    rows = referrals.for_manager(session, user.account)
    return render(request, "referrals.html", {"rows": rows})


@router.get("/referrals.csv")
def referral_csv(request: Request, user: ManagerUser, session: SessionDep):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in referrals.for_manager(session, user.account):
        c = row.case
        writer.writerow([csv_cell(v) for v in (c.ref, row.employee_name or "", c.kind, c.created_at.isoformat(),
                                            row.status.value, c.closed_at.isoformat() if c.closed_at else "",
                                            row.released.created_at.isoformat() if row.released else "")])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="referrals.csv"'})


def _new_form(request: Request, form: dict[str, Any], problems: Problems | None = None,
              status_code: int = 200) -> Response:
    return render(request, "referral_new.html", {"reasons": referrals.REASONS, "form": form, "problems": problems},
                  status_code=status_code)


@router.get("/referrals/new")
def new_form(request: Request, user: ManagerUser):
    return _new_form(request, {})


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
            "reason": reason, "details": details, "phone": phone, "consent": consent == "yes",
            "consent_reason_explained": consent_reason_explained == "yes"}
    # In the order the fields appear on the page, so the summary reads top to bottom.
    problems = Problems()
    if not employee_name.strip():
        problems.add("employee_name", "Enter the employee's name")
    if reason not in referrals.REASONS:
        problems.add("reason", "Select the reason for the referral")
    number = referrals.uk_phone_number(phone) if phone.strip() else None
    if phone.strip() and number is None:
        problems.add("phone", "Enter a UK phone number, like 07700 900 982")
    if consent != "yes":
        problems.add("consent", "Confirm the employee agrees to this referral")
    if consent_reason_explained != "yes":
        problems.add("consent_reason_explained", "Confirm you have told the employee why they are being referred")
    if problems:
        return _new_form(request, form, problems, status_code=400)
    answers = {"employee_name": employee_name.strip(), "employee_role": employee_role.strip() or None,
               "employee_hours": employee_hours.strip() or None, "reason": reason, "consent": True,
               "consent_reason_explained": True, "details": details.strip() or None}
    case = referrals.create_referral(session, user.account, answers={k: v for k, v in answers.items() if v is not None},
                                     phone=number, now=now, settings=settings)
    session.commit()
    return RedirectResponse(f"/referrals/sent/{case.ref}", status_code=303)


def _mine(session: Session, user: WebUser, ref: str) -> referrals.ReferralRow:
    try:
        return referrals.get_for_manager(session, user.account, ref)
    except referrals.NotYourOrganisation:
        raise Forbidden("This referral belongs to another organisation.") from None
    except referrals.NotAReferral:
        raise CaseNotFound(ref) from None


@router.get("/referrals/sent/{ref}")
def referral_sent(request: Request, ref: str, user: ManagerUser, session: SessionDep):
    """The confirmation page after a new referral: the reference, what happens next."""
    return render(request, "referral_sent.html", {"r": _mine(session, user, ref)})


@router.get("/referrals/{ref}")
def referral_detail(request: Request, ref: str, user: ManagerUser, session: SessionDep):
    return render(request, "referral.html", {"r": _mine(session, user, ref)})
