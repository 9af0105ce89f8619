"""Domain exceptions become clear HTTP errors, never a 500."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from api.channels import adapter_for
from api.domain.case_lifecycle import IllegalTransition
from api.services import spool
from api.services.cases import CaseNotFound, UnknownOrganisation
from api.services.directory import Conflict, InvalidField, NotFound
from api.services.paging import PageNotFound

log = logging.getLogger(__name__)


def _detail(loc: list, msg: str, type_: str) -> list[dict]:
    return [{"loc": loc, "msg": msg, "type": type_}]


async def _keep_message(request: Request) -> Response | None:
    """A person's message (SMS, call, web chat) is kept and answered even with no database:
    its channel's adapter reads it and says the safe answer; the spool keeps it to store."""
    adapter = adapter_for(request.url.path)
    if adapter is None:
        return None
    try:
        inbound = await adapter.inbound(request, request.app.state.settings, request.app.state.clock())
        if inbound is None:
            return None
        answer = adapter.offline(inbound)
        if answer.keep:
            spool.keep(request.app.state.settings, inbound, told=[r.text for r in answer.replies],
                       needs_case=answer.needs_case)
        return adapter.render_offline(inbound, answer)
    except Exception:
        log.critical("database down and the message could not be spooled", exc_info=True)
        return None


def install(app: FastAPI) -> None:
    @app.exception_handler(CaseNotFound)
    async def _case_not_found(_: Request, exc: CaseNotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": f"no case with reference '{exc.args[0]}'"})

    @app.exception_handler(PageNotFound)
    async def _page_not_found(_: Request, exc: PageNotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": f"no page with id {exc.args[0]}"})

    @app.exception_handler(UnknownOrganisation)
    async def _unknown_org(_: Request, exc: UnknownOrganisation) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content={"detail": _detail(["body", "organisation_code"], str(exc), "unknown_organisation")},
        )

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(InvalidField)
    async def _invalid(_: Request, exc: InvalidField) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _detail(["body", exc.field], str(exc), "value_error")})

    @app.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> Response:
        log.error("database unavailable: %s", type(exc.orig).__name__ if exc.orig else "unknown")
        if (kept := await _keep_message(request)) is not None:
            return kept
        return JSONResponse(
            status_code=503, headers={"Retry-After": "5"},
            content={"detail": "the database is unavailable; please try again shortly"},
        )

    @app.exception_handler(DataError)
    async def _bad_value(_: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (PostgreSQL: a NUL character in text, a number out of
        # range): the request is wrong, not the server.
        log.warning("database refused a value: %s", type(exc.orig).__name__ if exc.orig else "unknown")
        return JSONResponse(status_code=422, content={"detail": _detail(
            ["body"], "a value cannot be stored: text may not contain NUL (\\u0000) characters and numbers "
            "must be in range", "value_error")})

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> Response:
        log.error("database error: %s", type(exc.orig).__name__ if exc.orig else "unknown")
        if (kept := await _keep_message(request)) is not None:
            return kept
        return JSONResponse(status_code=503, headers={"Retry-After": "5"},
                            content={"detail": "the database could not complete the request"})

