"""Where people reach the helpline: Twilio SMS and voice webhooks, and the web chat."""
from fastapi import APIRouter

from api.channels import sms, voice, webchat
from api.channels.twilio_notifier import TwilioNotifier

__all__ = ["router", "TwilioNotifier"]

router = APIRouter()
router.include_router(sms.router)
router.include_router(voice.router)
router.include_router(webchat.router)
