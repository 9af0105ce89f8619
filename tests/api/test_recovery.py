"""Recovery, fast and in one process: which turns, spool claims and texts the worker takes back,
and which it must leave alone (a live request may still hold them). The same holes with real
killed processes are in tests/faults/test_recovery.py."""
from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from api.channels.sms import ADAPTER as SMS
from api.channels.texts import HELP_TEXT
from api.core.config import Settings
from api.enums import OutboxStatus, TurnStatus
from api.models import Case, ConversationMessage, OutboxMessage
from api.notifier import LogNotifier
from api.services import outbox, recovery, spool, turn_store
from api.services.messages import Inbound
from api.services.safe_answer import SAFE_ANSWER, SAFE_ANSWER_NOT_PAGED
from api.worker import DeadlineWorker, TickFailed
from tests.api.factories import standard_rota

CALLER = "+447700900123"


def stored(session, inbound: Inbound) -> turn_store.Turn:
    return turn_store.start_turn(session, inbound)


def sms(clock, text: str, sid: str, phone: str | None = CALLER) -> Inbound:
    return Inbound(channel="sms", conversation_id=f"sms-{sid}", text=text, received_at=clock.now,
                   provider_sid=f"sms:{sid}", phone=phone)


def test_a_stale_pending_sms_turn_gets_the_safe_answer_a_case_and_a_text(session, settings, clock):
    standard_rota(session, now=clock.now)
    turn = stored(session, sms(clock, "needlestick 10 minutes ago", "SM1"))
    assert turn.inbound.details["reply_to"] == CALLER  # kept while pending only
    clock.advance(seconds=settings.stale_turn_seconds - 1)
    fresh = stored(session, sms(clock, "hello", "SM2"))
    clock.advance(seconds=2)

    assert recovery.finish_stale_turns(session, settings, clock) == 1
    session.refresh(turn.inbound)
    session.refresh(fresh.inbound)
    assert turn.inbound.status == TurnStatus.safe_answer and fresh.inbound.status == TurnStatus.pending
    assert "reply_to" not in turn.inbound.details
    case = session.scalar(select(Case).where(Case.ref == turn.inbound.details["case_ref"]))
    assert case.contact["phone"] == CALLER and case.pages
    (text,) = session.scalars(select(OutboxMessage).where(OutboxMessage.to == CALLER, OutboxMessage.page_id.is_(None)))
    assert text.body == SAFE_ANSWER  # paged, so it says so
    assert turn_store.replies_of(session, turn.inbound)[0].text == SAFE_ANSWER


def test_a_stale_web_or_voice_turn_is_finished_without_a_text(session, settings, clock):
    web = stored(session, Inbound(channel="web", conversation_id="web-" + "a" * 32, text="cut myself",
                                  received_at=clock.now, provider_sid="web:x:1"))
    clock.advance(seconds=settings.stale_turn_seconds + 1)
    assert recovery.finish_stale_turns(session, settings, clock) == 1
    session.refresh(web.inbound)
    assert web.inbound.status == TurnStatus.safe_answer
    assert session.scalars(select(OutboxMessage)).first() is None
    # Nobody on the rota: the stored answer does not claim anyone was paged.
    assert turn_store.replies_of(session, web.inbound)[0].text == SAFE_ANSWER_NOT_PAGED


def test_help_while_the_database_is_down_gets_the_help_text_and_no_case(session_factory, settings, clock):
    inbound = replace(sms(clock, "HELP", "SM3"), details={"keyword": "help"})
    answer = SMS.offline(inbound)
    assert [r.text for r in answer.replies] == [HELP_TEXT] and not answer.needs_case
    spool.keep(settings, inbound, told=[HELP_TEXT], needs_case=False)
    ack = sms(clock, "ACK SH-000001", "SM4")
    assert not SMS.offline(ack).needs_case  # cannot be checked without the database: no sharps case for it

    assert spool.replay(session_factory, settings, clock) == 1
    with session_factory() as s:
        (turn,) = s.scalars(select(ConversationMessage).where(ConversationMessage.direction == "inbound"))
        assert turn.status == TurnStatus.handled and turn.details["spooled"]
        assert [r.text for r in turn_store.replies_of(s, turn)] == [HELP_TEXT]
        assert s.scalars(select(Case)).first() is None


def test_a_fresh_spool_claim_is_left_alone_and_a_stale_one_put_back(settings, clock):
    spool.keep(settings, sms(clock, "needle", "SM5"), told=[SAFE_ANSWER_NOT_PAGED], needs_case=True)
    (found,) = spool.pending(settings)
    claimed = found.with_name(f".{found.stem}.999999.claimed")
    os.rename(found, claimed)
    assert spool.reclaim(settings) == 0 and spool.pending(settings) == []
    old = time.time() - spool.CLAIM_LEASE_SECONDS - 1
    os.utime(claimed, (old, old))
    assert spool.reclaim(settings) == 1
    assert [p.name for p in spool.pending(settings)] == [found.name]


def test_a_spooled_web_message_without_a_client_id_is_stored_once(session_factory, settings, clock):
    web = Inbound(channel="web", conversation_id="web-" + "b" * 32, text="splash", received_at=clock.now)
    spool.keep(settings, web, told=[SAFE_ANSWER_NOT_PAGED], needs_case=True)
    (path,) = spool.pending(settings)
    copy = path.read_bytes()
    assert spool.replay(session_factory, settings, clock) == 1
    path.write_bytes(copy)  # a process died after storing it and before deleting the file
    assert spool.replay(session_factory, settings, clock) == 1
    with session_factory() as s:
        turns = list(s.scalars(select(ConversationMessage).where(ConversationMessage.direction == "inbound")))
        assert len(turns) == 1 and turns[0].provider_sid.startswith("spool:")


def test_texts_left_sending_are_queued_again_only_after_the_lease(session, settings, clock):
    rows = [outbox.enqueue_sms(session, to="+447700900555", body=f"page {i}", now=clock.now) for i in range(2)]
    session.commit()
    for row, attempts in zip(rows, (1, outbox.MAX_ATTEMPTS), strict=True):
        row.status, row.claimed_at, row.attempts = OutboxStatus.sending, clock.now, attempts
    session.commit()
    assert outbox.reclaim_stale(session, now=clock.now + timedelta(seconds=10), lease_seconds=60) == 0
    assert outbox.reclaim_stale(session, now=clock.now + timedelta(seconds=61), lease_seconds=60) == 2
    session.expire_all()
    assert [r.status for r in rows] == [OutboxStatus.queued, OutboxStatus.failed]
    assert outbox.deliver_pending(session, LogNotifier(), now=clock.now) == 1


def test_a_failing_step_does_not_stop_the_others(session_factory, settings, clock, monkeypatch):
    with session_factory() as s:
        outbox.enqueue_sms(s, to="+447700900555", body="page", now=clock.now)
        s.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("spool directory unreadable")

    monkeypatch.setattr(spool, "replay", broken)
    worker = DeadlineWorker(session_factory, settings, LogNotifier(), clock)
    with pytest.raises(TickFailed, match="spool"):
        worker.tick()
    with session_factory() as s:
        assert s.scalar(select(OutboxMessage.status)) == OutboxStatus.logged  # delivered all the same


def test_stale_turns_must_outlast_the_wait_for_rasa():
    with pytest.raises(ValidationError, match="STALE_TURN_SECONDS"):
        Settings(_env_file=None, environment="test", stale_turn_seconds=15, rasa_timeout_seconds=8)
