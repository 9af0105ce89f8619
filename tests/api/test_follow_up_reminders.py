"""The follow-up texts the worker sends (issue #18), through the worker's tick with a fixed clock:
a reminder to the worker from 08:00 London on the working day due (GMT and BST), once, never
before, never without their agreement or a mobile, never with a clinical word or the `what`; and
an overdue alert to the case owner (no owner: the clinical lead) on the next working day, once."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from api.domain.follow_ups import has_clinical_words
from api.models import Case, CaseEvent, FollowUp, OutboxMessage
from api.services import follow_ups
from tests.api.factories import practitioner, standard_rota
from tests.api.web.builders import case_row

MOBILE = "+447700900123"
WHAT = "Second dose, accelerated hepatitis B course"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"helpline_phone_number": "+443001234567",
                                       "public_base_url": "https://oh.example"})


@pytest.fixture
def case(session, clock) -> Case:
    row = case_row(session, ref="SH-000123", urgency="urgent", channel="sms", created_at=clock.now, org=None,
                   status="closed", conversation_id="conv-1")
    row.contact = {"phone": MOBILE}
    session.commit()
    return row


def consent(session, case: Case, agreed: bool, now: datetime) -> None:
    follow_ups.record_consent(session, session.get(Case, case.id), agreed=agreed, words=None, actor="bot", now=now)
    session.commit()


def add(session, case: Case, due_on: date, *, now: datetime, remind: bool = True, what: str = WHAT) -> FollowUp:
    fu = follow_ups.add(session, session.get(Case, case.id), due_on=due_on, what=what, remind_by_sms=remind,
                        actor="operator", now=now)
    session.commit()
    return fu


def texts(session, to: str = MOBILE) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id)))


def events(session, type_: str) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.type == type_).order_by(CaseEvent.id)))


@pytest.fixture
def tick(app, clock):
    def run(at: datetime) -> dict[str, int]:
        clock.now = at
        return app.state.worker.tick()
    return run


# -- reminders -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("monday", "before", "on_time"), [
    ("2026-11-30T09:00", "2026-12-01T07:59", "2026-12-01T08:00"),  # GMT: London is UTC
    ("2027-07-05T09:00", "2027-07-06T06:59", "2027-07-06T07:00"),  # BST: 08:00 London is 07:00 UTC
], ids=["GMT", "BST"])
def test_a_reminder_goes_at_eight_london_on_the_day_due_and_once(session, case, tick, monday, before, on_time):
    due = utc(on_time).date()  # a Tuesday
    consent(session, case, True, utc(monday))
    add(session, case, due, now=utc(monday))
    assert tick(utc(monday))["reminders"] == 0
    assert tick(utc(before))["reminders"] == 0
    assert texts(session) == []
    assert tick(utc(on_time))["reminders"] == 1
    [sms] = texts(session)
    assert sms.body == ("Hello, this is the occupational health helpline. You have a follow-up due today. "
                        "If you can't make it or aren't sure what it is, call 0300 123 4567.")
    assert sms.status == "logged"  # delivered in the same tick (the log notifier)
    assert tick(utc(on_time).replace(hour=utc(on_time).hour + 3))["reminders"] == 0
    assert len(texts(session)) == 1
    [event] = events(session, "follow_up_reminder_sent")
    assert event.details["outbox_id"] == sms.id and event.actor == "system"
    assert session.scalars(select(FollowUp)).one().reminder_sent_at == utc(on_time)


def test_the_text_carries_no_clinical_word_nor_the_what_nor_the_case(session, case, tick):
    consent(session, case, True, utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"), what="HIV PEP: blood test for the needlestick")
    tick(utc("2026-12-01T08:30"))
    [sms] = texts(session)
    assert not has_clinical_words(sms.body)
    for word in ("HIV", "PEP", "blood", "needlestick", "SH-000123", "sharps", WHAT):
        assert word.lower() not in sms.body.lower()


def test_a_worker_process_down_all_morning_still_sends_that_day_but_never_the_next(session, case, tick):
    consent(session, case, True, utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 2), now=utc("2026-11-30T09:00"))
    assert tick(utc("2026-12-01T16:45"))["reminders"] == 1
    assert tick(utc("2026-12-03T08:00"))["reminders"] == 0  # the 2nd's reminder day passed unsent
    assert len(texts(session)) == 1


def test_a_saturday_follow_up_is_reminded_on_the_friday(session, case, tick):
    consent(session, case, True, utc("2026-11-23T09:00"))
    add(session, case, date(2026, 12, 5), now=utc("2026-11-23T09:00"))
    assert tick(utc("2026-12-04T07:59"))["reminders"] == 0
    assert tick(utc("2026-12-04T08:00"))["reminders"] == 1
    [sms] = texts(session)
    assert "You have a follow-up due tomorrow." in sms.body
    assert tick(utc("2026-12-05T08:00"))["reminders"] == 0


def test_a_bank_holiday_follow_up_is_reminded_on_the_working_day_before(session, case, tick):
    consent(session, case, True, utc("2026-12-01T09:00"))
    add(session, case, date(2026, 12, 28), now=utc("2026-12-01T09:00"))  # Boxing Day's substitute Monday
    assert tick(utc("2026-12-24T08:00"))["reminders"] == 1
    assert "due on Monday" in texts(session)[0].body


@pytest.mark.parametrize("answers", [[], [True, False], [False]], ids=["never asked", "withdrawn", "said no"])
def test_never_without_the_workers_agreement(session, case, tick, answers):
    for agreed in answers:
        consent(session, case, agreed, utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"))
    assert tick(utc("2026-12-01T08:00"))["reminders"] == 0
    assert texts(session) == [] and events(session, "follow_up_reminder_sent") == []


@pytest.mark.parametrize("phone", [None, "+441632960123", "07000123456"], ids=["none", "landline", "personal 070"])
def test_never_without_a_mobile(session, case, tick, phone):
    consent(session, case, True, utc("2026-11-30T09:00"))
    row = session.get(Case, case.id)
    row.contact = {**row.contact, "phone": phone}
    session.commit()
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"))
    assert tick(utc("2026-12-01T08:00"))["reminders"] == 0
    assert session.scalars(select(OutboxMessage)).all() == []


def test_not_asked_for_or_closed_is_not_reminded(session, case, tick):
    consent(session, case, True, utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"), remind=False)
    done = add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"))
    follow_ups.mark_done(session, done.id, actor="operator", now=utc("2026-11-30T10:00"))
    session.commit()
    assert tick(utc("2026-12-01T08:00"))["reminders"] == 0


def test_two_workers_at_once_send_one_text(session, session_factory, case, settings, monkeypatch):
    consent(session, case, True, utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"))
    now = utc("2026-12-01T08:00")
    real = follow_ups.rules.reminder_due
    other: list[int] = []

    def racing(*args, **kwargs):
        # The other process sends between this one's reading the row and claiming it.
        if not other:
            other.append(0)
            with session_factory() as second:
                other[0] = follow_ups.send_due_reminders(second, settings=settings, now=now)
        return real(*args, **kwargs)

    monkeypatch.setattr(follow_ups.rules, "reminder_due", racing)
    with session_factory() as first:
        mine = follow_ups.send_due_reminders(first, settings=settings, now=now)
    assert (other[0], mine) == (1, 0)
    assert len(texts(session)) == 1 and len(events(session, "follow_up_reminder_sent")) == 1


def test_without_a_helpline_number_the_worker_is_asked_to_reply(session, case, settings, session_factory):
    consent(session, case, True, utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"))
    quiet = settings.model_copy(update={"helpline_phone_number": ""})
    assert follow_ups.send_due_reminders(session, settings=quiet, now=utc("2026-12-01T08:00")) == 1
    assert texts(session)[0].body.endswith("If you can't make it or aren't sure what it is, reply to this text.")


# -- overdue alerts ------------------------------------------------------------------------------------

def test_the_owner_is_alerted_on_the_next_working_day_once(session, case, tick, clock):
    owner = practitioner(session, "Alex Owner", mobile="+447700900301", now=clock.now)
    standard_rota(session, now=clock.now)
    session.get(Case, case.id).owner_id = owner.id
    session.commit()
    add(session, case, date(2026, 12, 4), now=utc("2026-11-30T09:00"), remind=False)  # a Friday
    assert tick(utc("2026-12-04T20:00"))["overdue_alerts"] == 0
    assert tick(utc("2026-12-05T10:00"))["overdue_alerts"] == 0  # Saturday
    assert tick(utc("2026-12-07T08:59"))["overdue_alerts"] == 0
    assert tick(utc("2026-12-07T09:00"))["overdue_alerts"] == 1
    [sms] = texts(session, owner.mobile)
    assert sms.body == "Overdue follow-up on case SH-000123 (due Fri 4 Dec). https://oh.example/cases/SH-000123"
    assert tick(utc("2026-12-08T09:00"))["overdue_alerts"] == 0
    assert len(texts(session, owner.mobile)) == 1
    assert texts(session, "+447700900203") == []  # not the clinical lead
    [event] = events(session, "follow_up_overdue_alert")
    assert event.details["to"] == [owner.id] and "Alex Owner" in event.description


def test_without_an_owner_the_clinical_lead_is_alerted(session, case, tick, clock):
    people = standard_rota(session, now=clock.now)
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"), remind=False)
    assert tick(utc("2026-12-02T09:00"))["overdue_alerts"] == 1
    [sms] = texts(session, people["lead"].mobile)
    assert sms.body.startswith("Overdue follow-up on case SH-000123 (due Tue 1 Dec).")
    for name in ("primary", "backup", "other"):
        assert texts(session, people[name].mobile) == []


def test_a_closed_follow_up_is_not_alerted(session, case, tick, clock):
    standard_rota(session, now=clock.now)
    fu = add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"), remind=False)
    follow_ups.cancel(session, fu.id, actor="operator", now=utc("2026-12-01T12:00"), note="moved")
    session.commit()
    assert tick(utc("2026-12-02T09:00"))["overdue_alerts"] == 0


def test_a_stop_text_after_agreeing_stops_the_reminders_and_start_brings_them_back(session, case, tick, settings):
    from api.models import ConversationMessage
    from api.services.identities import sms_conversation_id

    consent(session, case, True, utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 1), now=utc("2026-11-30T09:00"))
    add(session, case, date(2026, 12, 2), now=utc("2026-11-30T09:00"))
    conversation = sms_conversation_id(settings.session_secret, MOBILE)

    def keyword(word: str, at: datetime) -> None:
        session.add(ConversationMessage(conversation_id=conversation, channel="sms", direction="inbound",
                                        text=word.upper(), status="answered", details={"keyword": word},
                                        created_at=at))
        session.commit()

    keyword("stop", utc("2026-11-30T20:00"))
    assert tick(utc("2026-12-01T08:00"))["reminders"] == 0
    keyword("start", utc("2026-12-01T12:00"))
    assert tick(utc("2026-12-02T08:00"))["reminders"] == 1
    assert len(texts(session)) == 1
