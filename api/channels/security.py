"""Twilio webhook signatures, checked with the SDK's RequestValidator.

The URL signed is the one Twilio called: PUBLIC_BASE_URL + path (+ query), never the
URL this process sees, so it works behind a reverse proxy or a tunnel.
"""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from twilio.request_validator import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, RequestValidator, \
    get_signature_algorithm

from api.core.config import Settings
from api.deps import get_settings

log = logging.getLogger("helpline.channels.security")


def public_url(settings: Settings, request: Request) -> str:
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url


async def twilio_params(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> dict[str, str]:
    """The form Twilio posted, once its signature is proven; otherwise 403 and nothing stored."""
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    token = settings.twilio_auth_token
    why = None
    if not token:
        why = "TWILIO_AUTH_TOKEN is not set"
    elif not signature:
        why = "no X-Twilio-Signature"
    else:
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        if not RequestValidator(token).validate(public_url(settings, request), form, signature, algorithm):
            why = "signature does not match"
    if why:
        log.warning("twilio webhook refused: %s (%s %s)", why, request.method, request.url.path)
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="invalid Twilio signature")
    # One value per name is all Twilio sends for these webhooks.
    return {key: str(value) for key, value in form.items()}


TwilioParams = Annotated[dict[str, str], Depends(twilio_params)]
