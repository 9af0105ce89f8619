"""Per-address throttling of sign-in attempts (the `limits` library).

The account lock-out (api/services/accounts.py) stops guessing one account's password; this
stops one address trying a few passwords on every account. Failed attempts are counted per
client address in a moving window (SIGN_IN_IP_LIMIT); once the window is full, the sign-in form
answers 429 without checking any password until old failures leave the window. A success never
counts.

The address and the store are the public doors' (api/services/door_limits.py): X-Forwarded-For
only from a trusted proxy (TRUSTED_PROXIES), and the counts in this process's memory or in the
shared Redis when the API is scaled out, under a keyed hash rather than the address itself.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time

from limits import RateLimitItem, parse
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from api.core.config import Settings
from api.services import door_limits

log = logging.getLogger(__name__)

NAMESPACE = "sign-in-failures"


class SignInThrottle:
    def __init__(self, rate: str, storage: Storage, secret: bytes) -> None:
        self.item: RateLimitItem = parse(rate)
        self.limiter = MovingWindowRateLimiter(storage)
        self._secret = secret

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None when it may try now.

        A store that cannot be reached lets the attempt through (and logs it): staff must be able
        to sign in to answer an emergency, and the account lock-out still holds on its own.
        """
        key = self._key(address)
        try:
            if self.limiter.test(self.item, NAMESPACE, key):
                return None
            reset_at = self.limiter.get_window_stats(self.item, NAMESPACE, key).reset_time
        except Exception:  # any failure of the store: see the docstring
            log.error("sign-in throttle: the store failed; the attempt is allowed", exc_info=True)
            return None
        return max(1, math.ceil(reset_at - time.time()))

    def failed(self, address: str) -> None:
        try:
            self.limiter.hit(self.item, NAMESPACE, self._key(address))
        except Exception:  # as in retry_after
            log.error("sign-in throttle: the store failed; the failure is not counted", exc_info=True)

    def _key(self, address: str) -> str:
        return hmac.new(self._secret, f"{NAMESPACE}:{address}".encode(), hashlib.sha256).hexdigest()[:32]


_made = threading.Lock()


def for_app(request: Request) -> SignInThrottle:
    """The app's throttle, made on first use (one per app, so tests do not share counts)."""
    state = request.app.state
    throttle = getattr(state, "sign_in_throttle", None)
    if throttle is None:
        with _made:
            throttle = getattr(state, "sign_in_throttle", None)
            if throttle is None:
                settings: Settings = state.settings
                store = door_limits.of(state, settings).storage
                throttle = SignInThrottle(settings.sign_in_ip_limit, store,
                                          (settings.session_secret or NAMESPACE).encode())
                state.sign_in_throttle = throttle
    return throttle


def client_address(request: Request) -> str:
    """Who is signing in, by the public doors' rule (X-Forwarded-For only from TRUSTED_PROXIES)."""
    settings: Settings = request.app.state.settings
    return door_limits.client_address(request.client.host if request.client else None,
                                      request.headers.get("x-forwarded-for"), settings.trusted_proxy_networks)
