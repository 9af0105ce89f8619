"""The practitioners' and managers' web pages: sign-in, dashboard, case pages, rota, reports."""
from fastapi import APIRouter

router = APIRouter()
