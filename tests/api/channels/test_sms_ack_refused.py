"""Through the SMS door: an "ACK" from a deactivated practitioner's phone, or from one not on
the case's live page, acknowledges nothing and the ladder goes on."""
from __future__ import annotations

from sqlalchemy import select

from api.models import Case, Page, Practitioner
from tests.api.channels.conftest import messages
from tests.api.channels.test_sms import _paged_case


def test_a_deactivated_phone_acknowledges_nothing_and_the_ladder_goes_on(twilio, rasa, session_factory, clock,
                                                                        settings, app):
    ref, mobiles = _paged_case(session_factory, clock, settings)
    with session_factory() as s:
        s.scalar(select(Practitioner).where(Practitioner.mobile == mobiles["primary"])).active = False
        s.commit()
    rasa.reply = lambda body: [{"text": "Sorry, I didn't understand."}]
    for sender in (mobiles["primary"], mobiles["backup"]):
        (body,) = messages(twilio.sms(f"ACK {ref}", sender=sender))
        assert ref not in body and "acknowledged" not in body.lower()
    with session_factory() as s:
        assert [p.status for p in s.scalars(select(Page))] == ["pending"]
    clock.advance(seconds=settings.ack_seconds_emergency)
    assert app.state.worker.tick()["escalated"] == 1
    with session_factory() as s:
        assert [p.tier for p in s.scalars(select(Page).order_by(Page.id))] == ["primary", "backup"]
        assert s.scalar(select(Case)).status == "escalated"
