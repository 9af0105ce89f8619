"""HTTP metrics: requests and their latency by method, route template and status.

The route template is read after the request, from the route FastAPI matched (scope["route"]),
so a label is always a template such as /api/cases/{ref}, never a case reference or a phone
number, and a request that matched no route (a 404 for a made-up path) is not counted: its path
is whatever the caller typed.

This replaces prometheus-fastapi-instrumentator, which works out the template before the
request by walking every route of the app; with FastAPI's lazily built routes that built all
~120 of them on an app's first request (about 250 ms), which the test suite paid once per test.
The metric names are the ones it used (http_requests_total, http_request_duration_seconds).
"""
from __future__ import annotations

from time import perf_counter

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Up to the 10 s a voice or SMS turn may wait for Rasa, past the 8 s relay timeout.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class HttpMetrics:
    """ASGI middleware counting each routed HTTP request once it has been answered."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry, excluded: tuple[str, ...] = ("/metrics",)) -> None:
        self.app = app
        self.excluded = frozenset(excluded)
        self.requests = Counter("http_requests_total", "HTTP requests answered, by method, route template and status",
                                ["method", "handler", "status"], registry=registry)
        self.latency = Histogram("http_request_duration_seconds", "Time to answer an HTTP request, by method and "
                                 "route template", ["method", "handler"], buckets=LATENCY_BUCKETS, registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # what the server answers if the app raises before starting a response

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            handler = getattr(scope.get("route"), "path", None)
            if handler is not None and handler not in self.excluded:
                method = scope["method"]
                self.requests.labels(method, handler, str(status)).inc()
                self.latency.labels(method, handler).observe(perf_counter() - started)
