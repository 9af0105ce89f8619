"""GET /api/subject-access?phone=...: one person's data, for a subject access request (UK GDPR Art 15).

The operator's token only (HELPLINE_API_TOKEN; the bot's and the metrics token get 403); the
export's audit event names that caller. The export is for the data protection lead to review
before release: it can hold third parties' data (staff names in the audit trail, what others wrote in a
referral) that may need redacting first. Rasa's tracker store is read too (`rasa_tracker`);
when it cannot be, the export still comes back, with `rasa_tracker.status` "unavailable".
"""
from typing import Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from api.deps import NowDep, Operator, SessionDep, SettingsDep
from api.services import retention
from api.services.tracker_store import TrackerStore

router = APIRouter(prefix="/api/subject-access", tags=["privacy"])


@router.get("")
def subject_access(
    session: SessionDep, settings: SettingsDep, now: NowDep, caller: Operator,
    phone: str = Query(..., min_length=3, max_length=32, description="The person's phone number, any UK or E.164 form"),
) -> dict[str, Any]:
    """Every case, audit event and transcript tied to the number (E.164, and its SMS conversation),
    and Rasa's tracker events for those conversations (`rasa_tracker`)."""
    try:
        export = retention.subject_access_export(session, phone=phone, secret=settings.session_secret, now=now,
                                                 actor=caller.actor, tracker=TrackerStore.from_settings(settings))
    except retention.NotAPhoneNumber:
        raise RequestValidationError([{"loc": ["query", "phone"], "msg": "not a phone number",
                                       "type": "value_error"}]) from None
    session.commit()
    return export
