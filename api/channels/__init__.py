"""Where people reach the helpline: Twilio SMS and voice webhooks, and the web chat."""
from fastapi import APIRouter

router = APIRouter()
