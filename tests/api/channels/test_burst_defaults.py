"""The issue's bursts under the SHIPPED limits (test_limits.py tests the mechanism with tight ones).

Ten crisis messages from one client: all ten stored and answered with the crisis numbers, and at
most two pages. Within one conversation the door lets a person's pace through (one conversation is
one case); cookie-less bursts are new conversations, limited per address and grouped by paging.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from api.models import Case, ConversationMessage, Page
from tests.api.channels.conftest import messages, turns
from tests.api.channels.test_safe_answer import FAILURES
from tests.api.factories import standard_rota

WALL = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)
CRISIS_WORDS = "i want to kill myself"


@pytest.fixture
def still():
    with time_machine.travel(WALL, tick=False) as traveller:
        yield traveller


def crisis_numbers(text: str) -> bool:
    return all(words in text for words in ("999", "116 123", "NHS 111"))


def every_message_answered(session_factory) -> list[str]:
    inbound = turns(session_factory, direction="inbound")
    outbound = turns(session_factory, direction="outbound")
    answers = {t.id: " ".join(r.text for r in outbound if r.reply_to_id == t.id) for t in inbound}
    assert len(inbound) == 10 and all(answers.values())
    return list(answers.values())


def pages(session_factory) -> list[Page]:
    with session_factory() as s:
        return list(s.scalars(select(Page)))


@pytest.mark.parametrize("cookies", [True, False], ids=["one conversation", "no cookie each time"])
def test_ten_crisis_messages_from_one_web_client_page_at_most_twice(anon, rasa, session_factory, clock, settings,
                                                                     still, cookies):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = FAILURES["down"]  # the API's own triage answers and opens the cases
    for _ in range(10):
        if not cookies:
            anon.cookies.clear()
        body = anon.post("/chat/messages", json={"text": CRISIS_WORDS})
        assert body.status_code == 200
        assert crisis_numbers(" ".join(m["text"] for m in body.json()["messages"]))
    assert all(crisis_numbers(text) for text in every_message_answered(session_factory))
    sent = [p for p in pages(session_factory) if p.sent_at is not None]
    assert 1 <= len(sent) <= 2


def test_ten_crisis_texts_from_one_number_page_at_most_twice(twilio, rasa, session_factory, clock, settings, still):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = FAILURES["down"]
    for _ in range(10):
        assert crisis_numbers(" ".join(messages(twilio.sms(CRISIS_WORDS))))
    assert all(crisis_numbers(text) for text in every_message_answered(session_factory))
    sent = [p for p in pages(session_factory) if p.sent_at is not None]
    assert 1 <= len(sent) <= 2
    with session_factory() as s:
        assert len(set(s.scalars(select(ConversationMessage.conversation_id)))) == 1
        assert len(list(s.scalars(select(Case)))) == 1  # one number, one conversation, one case


def test_a_person_answering_quickly_is_never_cut_off_from_the_bot(anon, rasa, still):
    """Six quick answers in one conversation, in one instant: every one reaches the bot (a fact the
    bot never hears is a fact lost)."""
    rasa.reply = lambda body: [{"text": "Noted."}]
    for text in ("needlestick", "ten minutes ago", "blood", "yes", "the patient has hiv", "no"):
        anon.post("/chat/messages", json={"text": text})
    assert [c["message"] for c in rasa.calls] == ["needlestick", "ten minutes ago", "blood", "yes",
                                                  "the patient has hiv", "no"]
