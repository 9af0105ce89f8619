"""Security headers on every response: the JSON API, the staff pages, the chat, Twilio's TwiML,
static files and error answers alike.

A header a route set itself is kept (the chat page's `Referrer-Policy: no-referrer`, a page's own
CSP); what is missing is added. The CSP added is the staff pages' own (api/web/deps.py), so a
response that set none (JSON, TwiML, /docs, a static file, a 404) is held to the same policy.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The pages' policy, as in api/web/deps.py (a test keeps the two equal: core may not import the web).
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
# A year, subdomains included: browsers then never try plain HTTP for this host again.
HSTS = "max-age=31536000; includeSubDomains"

ALWAYS = (
    ("content-security-policy", PAGE_CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
)


def hsts_wanted(environment: str, public_base_url: str) -> bool:
    """HSTS when the public address is HTTPS, and always in production (where the reverse proxy
    must serve HTTPS: a browser ignores the header on plain HTTP, so it costs nothing there)."""
    return environment == "production" or public_base_url.lower().startswith("https://")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = ALWAYS + ((("strict-transport-security", HSTS),) if hsts else ())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
