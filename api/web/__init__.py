"""The practitioners', managers' and admins' web pages: sign-in, dashboard, case pages, rota,
reports, accounts.

Server-rendered (Jinja2, templates/), htmx for the live queue (static/, served at /static/web).
Every page needs a signed-in user (api/web/deps.py); the API docs need a user or the API token.
"""
from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from api.web.routes import accounts, auth, cases, docs, referrals, reports, rota
from api.web.routes import follow_ups as follow_ups_page
from api.web.routes import posters, quality
from api.web.routes import rules as rules_page

router = APIRouter()
for _module in (auth, cases, rota, referrals, reports, accounts, docs):
    router.include_router(_module.router)
router.include_router(rules_page.router)  # /rules/replay: clinical leads try a rule file (issue #17)
router.include_router(follow_ups_page.router)  # follow-ups on the case page and /follow-ups (issue #18)
router.include_router(quality.router)  # /reports/quality: the annual quality report, HTML and PDF (issue #18)
router.include_router(posters.router)  # /organisations/{code}/poster: A4 posters with the chat link (issue #18)
router.mount("/static/web", StaticFiles(directory=Path(__file__).parent / "static", check_dir=False),
             name="web-static")
