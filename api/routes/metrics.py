"""The protected /metrics route, the HTTP instrumentation and the scrape-time gauges
(api.core.metrics holds the counters the services import)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from api.core.http_metrics import HttpMetrics
from api.core.metrics import DatabaseCollector
from api.deps import allow


def install(app: FastAPI) -> None:
    """HTTP instrumentation, the scrape-time gauges and /metrics, for the metrics token (METRICS_TOKEN,
    which reads nothing else) or the operator's."""
    registry = CollectorRegistry(auto_describe=False)
    app.add_middleware(HttpMetrics, registry=registry)
    registry.register(DatabaseCollector(app))
    app.state.metrics_registry = registry

    router = APIRouter(include_in_schema=False)

    @router.get("/metrics", dependencies=[Depends(allow("operator", "metrics"))])
    def metrics(request: Request) -> Response:
        body = generate_latest(REGISTRY) + generate_latest(request.app.state.metrics_registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    app.include_router(router)
