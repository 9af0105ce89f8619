"""What every channel adapter (SMS, voice, web chat) provides.

An adapter owns its channel's ids and wording: it reads a request into an Inbound and
renders the bot's replies as that channel's response. Below the channels (relay, spool,
recovery) only Inbound and Reply exist, so nothing there imports a channel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from fastapi import Request, Response

from api.core.config import Settings
from api.services.messages import Inbound, Reply


@dataclass(frozen=True)
class OfflineAnswer:
    """What a person is told when their message cannot be stored (the database is down), and
    what the spool does with it: `keep` it to store later, and whether it `needs_case`."""

    replies: list[Reply] = field(default_factory=list)
    keep: bool = True
    needs_case: bool = True


class ChannelAdapter(Protocol):
    channel: str
    # The routes whose requests carry a person's message (answered even with no database).
    message_paths: frozenset[str]

    async def inbound(self, request: Request, settings: Settings, now: datetime) -> Inbound | None:
        """The person's message in this request, or None (forged, empty or not a message)."""
        ...

    def offline(self, inbound: Inbound) -> OfflineAnswer:
        ...

    def render_offline(self, inbound: Inbound, answer: OfflineAnswer) -> Response:
        ...
