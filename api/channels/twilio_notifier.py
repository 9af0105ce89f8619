"""Pages by text through Twilio's REST API (chosen in create_app when Twilio is configured).

Delivery reports come back to POST /twilio/status (api/channels/sms.py), which updates the
outbox row by its MessageSid and tells the page's case.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from api.core.config import Settings
from api.notifier import Delivery, NotifierError

log = logging.getLogger("helpline.notifier.twilio")

SEND_TIMEOUT_SECONDS = 10.0


class RebasedHttpClient(TwilioHttpClient):
    """Sends every request to another origin (a local fake of Twilio's API in tests, or a
    regional gateway): the SDK builds the path and the body exactly as it would for Twilio."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = urlsplit(base_url)

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        parts = urlsplit(url)
        url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment))
        return super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                               timeout=timeout, allow_redirects=allow_redirects)


class TwilioNotifier:
    """`Notifier.send_sms` with the twilio REST Client. Nothing connects until a text is sent."""

    def __init__(self, settings: Settings, *, api_base_url: str | None = None, http_client: Any = None) -> None:
        self.settings = settings
        if http_client is None:
            http_client = (RebasedHttpClient(api_base_url, timeout=SEND_TIMEOUT_SECONDS) if api_base_url
                           else TwilioHttpClient(timeout=SEND_TIMEOUT_SECONDS))
        self._http_client = http_client
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.settings.twilio_account_sid, self.settings.twilio_auth_token,
                                  http_client=self._http_client)
        return self._client

    @property
    def status_callback(self) -> str:
        return self.settings.public_base_url.rstrip("/") + "/twilio/status"

    def send_sms(self, *, to: str, body: str) -> Delivery:
        try:
            message = self.client.messages.create(
                to=to, from_=self.settings.twilio_from_number, body=body, status_callback=self.status_callback,
            )
        except TwilioException as exc:
            # Caught by the outbox, which keeps the row queued for the next tick.
            log.warning("twilio send to ...%s failed: %s", to[-4:], type(exc).__name__)
            raise NotifierError(str(exc)[:300]) from exc
        except Exception as exc:  # network errors from requests
            log.warning("twilio send to ...%s failed: %s", to[-4:], type(exc).__name__)
            raise NotifierError(type(exc).__name__) from exc
        log.info("sms to ...%s sent (%s)", to[-4:], message.sid)
        return Delivery(provider_sid=message.sid, logged_only=False)
