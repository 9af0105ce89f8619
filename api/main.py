"""The app factory. Nothing here runs at import: `create_app()` builds everything."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timezone

from fastapi import FastAPI

from api import channels, errors, web
from api.core.body_limit import BodyLimitMiddleware
from api.core.config import Settings, get_settings
from api.core.db import make_engine, make_session_factory
from api.core.file_modes import owner_only, restrict_sqlite_file, restrict_sqlite_files
from api.core.logging import CaseRefMiddleware, configure_logging
from api.core.security_headers import SecurityHeadersMiddleware, hsts_wanted
from api.notifier import LogNotifier, Notifier
from api.routes import abuse, cases, health, organisations, pages, practitioners, reviews, rota, subject_access, triage
from api.routes import equality as equality_route
from api.routes import follow_ups as follow_ups_route
from api.routes import metrics as metrics_route
from api.routes import rules as rules_route
from api.worker import DeadlineWorker


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
    notifier: Notifier | None = None,
) -> FastAPI:
    # Databases, the spool and logs this process creates are the service account's alone.
    owner_only()
    settings = settings or get_settings()
    configure_logging(settings)
    restrict_sqlite_files(settings.database_url)
    if settings.rasa_tracker_dialect == "sqlite":  # Rasa creates it; the API narrows it too
        restrict_sqlite_file(settings.rasa_tracker_sqlite_path)
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    notifier = notifier or (channels.TwilioNotifier(settings) if settings.twilio_enabled else LogNotifier())
    worker = DeadlineWorker(session_factory, settings, notifier, clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop)) if settings.worker_enabled else None
        try:
            yield
        finally:
            stop.set()
            if task:
                await task
            engine.dispose()

    # The docs are served by api.web, to a signed-in user or the API token holder only.
    app = FastAPI(title="Occupational health helpline API", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.clock = clock
    app.state.notifier = notifier
    app.state.worker = worker
    errors.install(app)
    app.add_middleware(CaseRefMiddleware)
    # Added last, so outermost: a body over its limit is refused before any route or handler
    # reads it, and every answer (that 413 too) carries the security headers.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, hsts=hsts_wanted(settings.environment, settings.public_base_url))
    metrics_route.install(app)
    app.include_router(rules_route.router)  # the candidate rule files' replay (issue #17)
    app.include_router(follow_ups_route.router)  # follow-ups of a case (issue #18)
    app.include_router(equality_route.router)  # equality of access (issue #18)
    for module in (health, triage, cases, reviews, abuse, pages, rota, organisations, practitioners, subject_access,
                   channels, web):
        app.include_router(module.router)
    return app
