"""Where people reach the helpline: Twilio SMS and voice webhooks, and the web chat.

Each channel has an adapter (api/channels/adapter.py) that reads its requests into Inbound
records and renders replies in its own words; `adapter_for` finds it by the request's path.
"""
from fastapi import APIRouter

from api.channels import sms, voice, voice_transfer, webchat
from api.channels.adapter import ChannelAdapter
from api.channels.twilio_notifier import TwilioNotifier

__all__ = ["TwilioNotifier", "adapter_for", "router"]

router = APIRouter()
router.include_router(sms.router)
router.include_router(voice.router)
router.include_router(voice_transfer.router)
router.include_router(webchat.router)

ADAPTERS: tuple[ChannelAdapter, ...] = (sms.ADAPTER, voice.ADAPTER, webchat.ADAPTER)


def adapter_for(path: str) -> ChannelAdapter | None:
    """The adapter whose routes carry a person's message at this path, if any."""
    return next((a for a in ADAPTERS if path in a.message_paths), None)
