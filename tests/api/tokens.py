"""The bot's and Prometheus's tokens for the tests of who may do what, and a client that sends one."""
from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from api.core.config import Settings
from api.deps import CONVERSATION_HEADER

BOT_TOKEN = "bot-token-0123456789abcdef"
METRICS_TOKEN = "metrics-token-0123456789abcdef"


def with_tokens(settings: Settings) -> Settings:
    """The test settings with the bot's and the metrics tokens set."""
    return settings.model_copy(update={"helpline_bot_token": BOT_TOKEN, "metrics_token": METRICS_TOKEN})


def token_client(app, token: str, conversation: str | None = None) -> Iterator[TestClient]:
    """A client sending `token`, speaking for `conversation` (the bot's header) when one is given."""
    headers = {"Authorization": f"Bearer {token}"}
    if conversation:
        headers[CONVERSATION_HEADER] = conversation
    with TestClient(app, headers=headers) as c:
        yield c
