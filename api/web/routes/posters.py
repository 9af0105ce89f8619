"""Posters that make the line known (issue #18): for each organisation an A4 poster with the
helpline's numbers, first aid and a QR code of its own chat link, to preview and print or to
download as a PDF (WeasyPrint, from the same HTML). For clinical leads and admins."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import SessionDep, SettingsDep
from api.services import directory, posters
from api.services.accounts import Role
from api.web.deps import WebRoute, WebUser, require_roles
from api.web.pdf import pdf_of
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PosterMaker = Annotated[WebUser, Depends(require_roles(
    Role.clinical_lead, Role.admin, message="Posters are made by clinical leads and admins."))]


@router.get("/organisations/posters")
def poster_index(request: Request, user: PosterMaker, session: SessionDep):
    return render(request, "posters.html", {"organisations": directory.list_organisations(session)})


@router.get("/organisations/{code}/poster")
def poster_page(request: Request, code: str, user: PosterMaker, session: SessionDep, settings: SettingsDep):
    return render(request, "poster.html", {"p": posters.poster(session, code, settings)})


@router.get("/organisations/{code}/poster.pdf")
def poster_pdf(request: Request, code: str, user: PosterMaker, session: SessionDep, settings: SettingsDep):
    """The poster as a PDF; with no number to call or text, a page that says why not (409)."""
    try:
        found = posters.printable(session, code, settings)
    except posters.NoNumbers as exc:
        return render(request, "error.html", {"title": "Poster not ready", "message": str(exc)}, status_code=409)
    page = render(request, "poster.html", {"p": found})
    name = f"poster-{found.organisation.code}.pdf"
    return Response(pdf_of(bytes(page.body).decode("utf-8"), base_url=str(request.base_url)),
                    media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})
