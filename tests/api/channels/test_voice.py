"""Voice: TwiML checked structurally (parsed, never compared as strings), turn by turn.

The fake Rasa here plays the bot's VOICE variants (text, short spoken options as buttons, and
`custom.voice` notes); the walk through the real bot is tests/stories/live_voice.yml.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from api.models import Case, CaseEvent, ConversationMessage, OutboxMessage, Page
from api.services import cases
from api.services.identities import sms_conversation_id
from tests.api.channels.conftest import CALLER, PUBLIC, all_cases, count, twiml
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

CALL_SID = "CA" + "f" * 32
HELPLINE = "+441134960000"
ASK_WHAT_HAPPENED = [
    {"text": "First, let the wound bleed and wash it with soap and running water."},
    {"text": "What happened?", "buttons": [
        {"title": "needle or sharp", "payload": "1"},
        {"title": "splash", "payload": "2"}]},
]
MISUNDERSTOOD = [{"text": "Sorry, I didn't catch that."}, {"custom": {"voice": {"misunderstood": True}}},
                 *ASK_WHAT_HAPPENED[1:]]
TEXT_ONLY_WORDS = re.compile(r"\b(reply|tap|click|button|type)\b", re.IGNORECASE)


def call(twilio, path="/twilio/voice", sid=CALL_SID, **params):
    base = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": HELPLINE,
            "CallStatus": "in-progress", "Direction": "inbound"}
    return twilio.post(path, {**base, **params})


def says(element):
    return [s.text for s in element.iter("Say")]


def spoken(root) -> str:
    return " ".join(says(root))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def conversation(settings) -> str:
    return sms_conversation_id(settings.session_secret, CALLER)


def _turns(session_factory):
    with session_factory() as s:
        return list(s.scalars(select(ConversationMessage).order_by(ConversationMessage.id)))


def test_incoming_call_asks_with_a_british_gather(twilio, rasa, settings):
    rasa.reply = lambda body: ASK_WHAT_HAPPENED
    root = twiml(call(twilio))
    assert [c.tag for c in root] == ["Gather"]
    gather = root.find("Gather")
    assert gather.get("input") == "speech dtmf"
    assert gather.get("language") == "en-GB"
    assert gather.get("speechTimeout") == "auto"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("method") == "POST" and gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC}/twilio/voice/gather?turn=1"
    hints = gather.get("hints").split(", ")
    assert hints[:2] == ["needle or sharp", "splash"]  # this question's answers first
    assert "talk to a person" in hints and "needlestick" not in hints
    for say in gather.iter("Say"):
        assert say.get("language") == "en-GB" and say.get("voice") == "Polly.Amy"
    said = says(gather)
    assert said[0].startswith("First, let the wound bleed")
    assert said[-2:] == ["What happened?", "Say needle or sharp, or press 1. Say splash, or press 2."]
    assert not TEXT_ONLY_WORDS.search(spoken(root))
    (first,) = rasa.calls
    # one conversation per caller, whatever the channel: the id their texts have too
    assert first["sender"] == conversation(settings) and first["message"] == "/greet"
    assert first["metadata"] == {"channel": "voice", "phone": CALLER}


def test_the_voice_is_configured(twilio, rasa, app, settings):
    from api.deps import get_settings

    assert twiml(call(twilio)).find("Gather").get("speechModel") is None  # Twilio chooses, by default
    app.dependency_overrides[get_settings] = lambda: settings.model_copy(update={
        "twilio_voice": "Polly.Brian", "twilio_speech_model": "googlev2_telephony"})
    root = twiml(call(twilio, sid="CA" + "7" * 32, From="+447700900777"))
    assert {s.get("voice") for s in root.iter("Say")} == {"Polly.Brian"}
    assert root.find("Gather").get("speechModel") == "googlev2_telephony"


def test_an_open_question_hints_what_callers_to_the_line_say(twilio, rasa):
    rasa.reply = lambda body: [{"text": "Tell me what happened."}]
    hints = twiml(call(twilio)).find("Gather").get("hints")
    assert "needlestick" in hints and "HIV" in hints


def test_the_bots_own_hints_for_a_free_text_question(twilio, rasa):
    rasa.reply = lambda body: [{"text": "When did it happen?", "buttons": [{"title": "don't know",
                                                                           "payload": "don't know"}]},
                               {"custom": {"voice": {"hints": ["twenty minutes ago", "this morning"]}}}]
    hints = twiml(call(twilio)).find("Gather").get("hints").split(", ")
    assert hints[:3] == ["don't know", "twenty minutes ago", "this morning"]


def test_silence_asks_again_then_keypad_only_then_a_person_then_goodbye(twilio, rasa, session_factory):
    rasa.reply = lambda body: ASK_WHAT_HAPPENED
    call(twilio)
    root = twiml(call(twilio, "/twilio/voice/gather?turn=1"))  # actionOnEmptyResult: nothing heard
    gather = root.find("Gather")
    assert says(gather)[0] == "Sorry, I did not hear anything."
    assert "What happened?" in says(gather) and "First, let the wound bleed" not in spoken(gather)
    assert gather.get("action") == f"{PUBLIC}/twilio/voice/gather?turn=1&silence=1"
    assert gather.get("input") == "speech dtmf"

    gather = twiml(call(twilio, path_of(gather.get("action")))).find("Gather")  # second silence
    assert gather.get("input") == "dtmf"
    assert "Let's use the keypad." in says(gather)
    assert "For needle or sharp, press 1. For splash, press 2." in says(gather)
    assert "press 0" not in spoken(gather)

    gather = twiml(call(twilio, path_of(gather.get("action")))).find("Gather")  # third
    assert gather.get("input") == "dtmf" and "If you would like to talk to a person, press 0." in says(gather)

    root = twiml(call(twilio, path_of(gather.get("action"))))  # fourth: goodbye, with what to do
    assert [c.tag for c in root] == ["Say", "Hangup"]
    assert "nine nine nine" in root.find("Say").text
    assert len(rasa.calls) == 1  # silence is never relayed
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "inbound") == 1


def test_two_answers_not_understood_switch_to_the_keypad(twilio, rasa):
    rasa.reply = lambda body: ASK_WHAT_HAPPENED
    call(twilio)
    rasa.reply = lambda body: MISUNDERSTOOD
    gather = twiml(call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="blah", Confidence="0.3")).find("Gather")
    assert gather.get("input") == "speech dtmf" and gather.get("action").endswith("turn=2&miss=1")
    assert says(gather)[0] == "Sorry, I didn't catch that."  # the bot's words, not a second apology
    gather = twiml(call(twilio, "/twilio/voice/gather?turn=2&miss=1", SpeechResult="blah blah")).find("Gather")
    assert gather.get("input") == "dtmf" and gather.get("action").endswith("turn=3&miss=2")
    assert "For needle or sharp, press 1. For splash, press 2." in says(gather)
    rasa.reply = lambda body: ASK_WHAT_HAPPENED
    gather = twiml(call(twilio, "/twilio/voice/gather?turn=3&miss=2", Digits="2")).find("Gather")
    assert rasa.calls[-1]["message"] == "2"
    assert gather.get("input") == "speech dtmf" and gather.get("action").endswith("turn=4")  # understood: reset


def test_keys_and_spoken_options_pick_the_choice_and_are_stored_with_confidence(twilio, rasa, session_factory):
    rasa.reply = lambda body: ASK_WHAT_HAPPENED
    call(twilio)
    call(twilio, "/twilio/voice/gather?turn=1", Digits="2")
    assert rasa.calls[-1]["message"] == "2"
    call(twilio, "/twilio/voice/gather?turn=2", SpeechResult="Needle or sharp.", Confidence="0.91")
    assert rasa.calls[-1]["message"] == "1"
    rasa.reply = lambda body: [{"text": "Which?", "buttons": [{"title": "yes", "payload": "/affirm"},
                                                                {"title": "no", "payload": "/deny"}]}]
    call(twilio, "/twilio/voice/gather?turn=3", SpeechResult="a needle in my thumb", Confidence="0.8")
    assert rasa.calls[-1]["message"] == "a needle in my thumb"  # not an option: the words go to the bot
    call(twilio, "/twilio/voice/gather?turn=4", SpeechResult="Two.")
    assert rasa.calls[-1]["message"] == "/deny"
    inbound = [t for t in _turns(session_factory) if t.direction == "inbound"]
    assert [t.provider_sid for t in inbound] == [f"{CALL_SID}:{n}" for n in range(5)]
    assert inbound[1].details["digits"] == "2" and inbound[1].details["choice"]["title"] == "splash"
    assert inbound[2].details["confidence"] == 0.91 and inbound[2].details["speech"] == "Needle or sharp."
    assert inbound[4].text == "Two."


def test_zero_asks_for_a_person_on_any_question(twilio, rasa):
    rasa.reply = lambda body: ASK_WHAT_HAPPENED
    call(twilio)
    call(twilio, "/twilio/voice/gather?turn=1", Digits="0")
    assert rasa.calls[-1]["message"] == "/request_human"


ADVICE_THEN_QUESTION = [
    {"text": "Because the source has hepatitis B, you may also need hepatitis B immunoglobulin."},
    {"custom": {"advice": True}},
    {"text": "Were you wearing gloves?", "buttons": [{"title": "yes", "payload": "/affirm"},
                                                     {"title": "no", "payload": "/deny"}]},
]


def test_star_or_repeat_says_it_again_without_a_turn(twilio, rasa):
    rasa.reply = lambda body: ADVICE_THEN_QUESTION
    root = twiml(call(twilio))
    assert says(root.find("Gather"))[-1] == "To hear that again, press star."
    for heard in ({"Digits": "*"}, {"SpeechResult": "Repeat that."}):
        gather = twiml(call(twilio, "/twilio/voice/gather?turn=1", **heard)).find("Gather")
        assert "immunoglobulin" in spoken(gather) and "Were you wearing gloves?" in says(gather)
        assert gather.get("action") == f"{PUBLIC}/twilio/voice/gather?turn=1"  # the question is still open
    assert len(rasa.calls) == 1
    call(twilio, "/twilio/voice/gather?turn=1", Digits="1")
    assert rasa.calls[-1]["message"] == "/affirm"


def test_references_and_numbers_are_spelled_out(twilio, rasa):
    rasa.reply = lambda body: [{"text": "Your case reference is SH-000123. We will call you on +447700900123. "
                                        "If a life is at risk, call 999. Go to A&E now. Or message us back."}]
    text = spoken(twiml(call(twilio)))
    assert "S H, zero zero zero, one two three" in text
    assert "zero seven seven zero zero, nine zero zero, one two three" in text
    assert "call nine nine nine" in text and "Go to the emergency department now." in text
    assert "SH-000123" not in text and "+44" not in text and "A&E" not in text
    assert text.endswith("Or call us back.")  # advice written once for every channel


def test_a_retried_turn_returns_the_same_twiml(twilio, rasa, session_factory):
    rasa.reply = lambda body: [{"text": f"reply {len(rasa.calls)}"}]
    call(twilio)
    first = call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="i cut my hand")
    again = call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="i cut my hand")
    assert first.text == again.text
    assert len(rasa.calls) == 2
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "inbound") == 2


def test_rasa_down_on_a_call_gives_the_safe_answer_and_a_case(twilio, rasa, session_factory, settings):
    import httpx

    rasa.reply = lambda body: (_ for _ in ()).throw(httpx.ConnectError("refused"))
    call(twilio)
    root = twiml(call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="a needle went into my thumb"))
    # no rota in this test: nobody was paged, so nobody is said to have been told
    assert "do not wait for a call" in spoken(root)
    assert root.find("Gather") is not None  # the caller can still say more
    (case,) = all_cases(session_factory)
    assert case.channel == "voice" and case.conversation_id == conversation(settings)
    assert case.contact == {"phone": CALLER}
    assert case.summary == "(call started)\na needle went into my thumb"


def test_withheld_caller_is_a_conversation_of_their_own(twilio, rasa, session_factory):
    call(twilio, From="+266696687")
    assert rasa.calls[0]["metadata"] == {"channel": "voice", "phone": None}
    assert rasa.calls[0]["sender"] == CALL_SID
    assert _turns(session_factory)[0].details["withheld"] is True


# --- an emergency on a call ---------------------------------------------------------------------

class EmergencyRasa:
    """Plays the bot and its action server: the answer that makes the case an emergency opens it
    through the case service, as the action server does through POST /api/cases."""

    def __init__(self, session_factory, clock, settings):
        self.session_factory, self.clock, self.settings = session_factory, clock, settings

    def __call__(self, body):
        message = body["message"]
        if message == "/greet":
            return [{"text": "Occupational health helpline. Tell me what happened."}]
        if "hiv" in message.lower():
            with self.session_factory() as s:
                cases.create(s, data={"line": "sharps", "channel": "voice", "conversation_id": body["sender"],
                                      "contact": {"phone": body["metadata"]["phone"]}, "answers": HIV_NEEDLESTICK},
                             now=self.clock(), settings=self.settings)
                s.commit()
            return [{"text": "First, let the wound bleed and wash it."},
                    {"text": "Go to your nearest emergency department now. The on-call practitioner has been paged."},
                    {"text": "Can you answer a few more questions?", "buttons": [
                        {"title": "yes", "payload": "/affirm"}, {"title": "no", "payload": "/deny"}]}]
        return [{"text": "Thank you. Is this the best number to call you back on?", "buttons": [
            {"title": "yes", "payload": "/affirm"}, {"title": "no", "payload": "/deny"}]}]


def _emergency(twilio, rasa, session_factory, clock, settings, *, rota=True):
    people = None
    if rota:
        with session_factory() as s:
            people = {k: (p.id, p.name, p.mobile) for k, p in standard_rota(s, now=clock.now).items()}
    rasa.reply = EmergencyRasa(session_factory, clock, settings)
    call(twilio)
    root = twiml(call(twilio, "/twilio/voice/gather?turn=1",
                      SpeechResult="I had a needlestick, the patient has HIV, twenty minutes ago", Confidence="0.9"))
    return root, people


def test_an_emergency_is_said_first_then_the_caller_is_offered_a_transfer(twilio, rasa, session_factory, clock,
                                                                          settings):
    root, _ = _emergency(twilio, rasa, session_factory, clock, settings)
    (case,) = all_cases(session_factory)
    assert case.urgency == "emergency"
    said = says(root)
    assert said[0].startswith("Go to your nearest emergency department now.")  # before the first aid
    assert "Can you answer a few more questions?" not in said  # that question waits
    gather = root.find("Gather")
    assert gather.get("action") == f"{PUBLIC}/twilio/voice/offer?turn=2"
    assert says(gather) == ["To be connected to the on-call practitioner now, say yes, or press 1. To answer a "
                            "few more questions first, say no, or press 2. If you say nothing, I will put you through."]
    assert gather.get("hints").startswith("yes, no")

    # "no": the question that waited, as turn 2, never relayed
    calls = len(rasa.calls)
    gather = twiml(call(twilio, "/twilio/voice/offer?turn=2", SpeechResult="No.")).find("Gather")
    assert says(gather)[0] == "Can you answer a few more questions?"
    assert gather.get("action") == f"{PUBLIC}/twilio/voice/gather?turn=2" and len(rasa.calls) == calls
    # a later turn never offers again
    root = twiml(call(twilio, "/twilio/voice/gather?turn=2", Digits="2"))
    assert rasa.calls[-1]["message"] == "/deny" and root.find("Dial") is None


def test_silence_after_the_offer_puts_the_caller_through(twilio, rasa, session_factory, clock, settings):
    _, people = _emergency(twilio, rasa, session_factory, clock, settings)
    root = twiml(call(twilio, "/twilio/voice/offer?turn=2"))
    assert says(root) == ["I am putting you through now."]
    assert [n.text for n in root.find("Dial").findall("Number")] == [people["primary"][2]]


def test_transfer_primary_does_not_answer_backup_accepts(twilio, rasa, session_factory, clock, settings):
    _, people = _emergency(twilio, rasa, session_factory, clock, settings)
    (case,) = all_cases(session_factory)
    root = twiml(call(twilio, "/twilio/voice/offer?turn=2", Digits="1"))
    dial = root.find("Dial")
    assert dial.get("answerOnBridge") == "true" and dial.get("timeout") == "20"
    assert dial.get("callerId") == HELPLINE
    assert dial.get("action") == f"{PUBLIC}/twilio/voice/dial-status?attempt=0"
    (number,) = dial.findall("Number")
    assert number.text == people["primary"][2]

    # The primary's phone is picked up by voicemail: the whisper asks for a key, none comes.
    whisper = twiml(call(twilio, path_of(number.get("url")), sid="CA" + "1" * 32, To=people["primary"][2]))
    gather = whisper.find("Gather")
    assert gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    (summary,) = says(gather)
    assert "S H, zero zero zero, zero zero one" in summary and "source HIV positive" in summary
    assert "told to go to the emergency department" in summary and summary.endswith("Press 1 to take the call.")
    assert [c.tag for c in whisper][-1] == "Hangup"
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=0", DialCallStatus="no-answer"))
    assert "backup" in says(root)[0]
    (number,) = root.find("Dial").findall("Number")
    assert number.text == people["backup"][2]
    assert parse_qs(urlsplit(number.get("url")).query) == {
        "ref": [case.ref], "attempt": ["1"], "practitioner": [str(people["backup"][0])], "tier": ["backup"]}

    # The backup answers and presses 1.
    backup_leg = "CA" + "2" * 32
    whisper = twiml(call(twilio, path_of(number.get("url")), sid=backup_leg, To=people["backup"][2]))
    accept = path_of(whisper.find("Gather").get("action"))
    root = twiml(call(twilio, accept, sid=backup_leg, To=people["backup"][2], Digits="1"))
    assert says(root) == ["Connecting you now."] and root.find("Hangup") is None
    twiml(call(twilio, accept, sid=backup_leg, To=people["backup"][2], Digits="1"))  # a retry changes nothing
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=1", DialCallStatus="completed"))
    assert [c.tag for c in root] == ["Say", "Hangup"]

    with session_factory() as s:
        case = s.get(Case, case.id)
        events = [(e.type, e.actor, e.description) for e in s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]
        assert [d for t, _, d in events if t == "call_transfer_result"] == [
            "call to Alex Primary (primary): no-answer", "call to Bea Backup (backup): completed"]
        accepted = [(a, d) for t, a, d in events if t == "call_accepted"]
        assert accepted == [("Bea Backup", "Bea Backup (backup) took the transferred call")]
        assert case.owner_id == people["backup"][0]
        assert case.status == "acknowledged"
        page = s.scalar(select(Page).where(Page.case_id == case.id, Page.status == "acknowledged"))
        assert page is not None and page.acknowledged_by == "Bea Backup"
        assert not [p for p in case.pages if p.status in ("pending", "escalated")]  # the ladder stops


def test_a_key_other_than_1_on_the_whisper_does_not_connect(twilio, rasa, session_factory, clock, settings):
    _emergency(twilio, rasa, session_factory, clock, settings)
    root = twiml(call(twilio, "/twilio/voice/offer?turn=2", Digits="1"))
    number = root.find("Dial").find("Number")
    whisper = twiml(call(twilio, path_of(number.get("url")), sid="CA" + "3" * 32))
    root = twiml(call(twilio, path_of(whisper.find("Gather").get("action")), sid="CA" + "3" * 32, Digits="9"))
    assert [c.tag for c in root] == ["Hangup"]
    (case,) = all_cases(session_factory)
    assert case.status != "acknowledged"


def test_nobody_answers_the_caller_hears_what_next_and_can_have_it_texted(twilio, rasa, session_factory, clock,
                                                                        settings):
    _emergency(twilio, rasa, session_factory, clock, settings)
    twiml(call(twilio, "/twilio/voice/offer?turn=2", SpeechResult="yes please"))
    twiml(call(twilio, "/twilio/voice/dial-status?attempt=0", DialCallStatus="no-answer"))
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=1", DialCallStatus="busy"))
    assert "clinical lead" in says(root)[0]
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=2", DialCallStatus="no-answer"))
    told = spoken(root)
    assert "emergency department now" in told and "nine nine nine" in told and "call you back by" in told
    assert "Your case reference is S H, zero zero zero, zero zero one." in told
    gather = root.find("Gather")
    assert gather.get("action").startswith(f"{PUBLIC}/twilio/voice/text-me?turn=")
    assert "send a text to this mobile" in spoken(gather)
    assert count(session_factory, OutboxMessage, OutboxMessage.to == CALLER) == 0  # not without agreement

    root = twiml(call(twilio, path_of(gather.get("action")), Digits="1"))
    assert says(root.find("Gather"))[:2] == ["I have sent the text.", "Can you answer a few more questions?"]
    with session_factory() as s:
        (text,) = s.scalars(select(OutboxMessage).where(OutboxMessage.to == CALLER))
        (case,) = s.scalars(select(Case))
        assert case.ref in text.body and "call you back" in text.body
        assert not re.search(r"HIV|hepatitis|needle|blood", text.body, re.IGNORECASE)  # no clinical words
        assert s.scalar(select(CaseEvent.type).where(CaseEvent.case_id == case.id,
                                                     CaseEvent.type == "reference_texted")) == "reference_texted"
        # the text pages carry on: the practitioner still has to acknowledge
        assert [(p.tier, p.status) for p in case.pages] == [("primary", "pending")]


def test_no_text_without_agreement(twilio, rasa, session_factory, clock, settings):
    _emergency(twilio, rasa, session_factory, clock, settings)
    twiml(call(twilio, "/twilio/voice/offer?turn=2", Digits="1"))
    for attempt in range(2):
        twiml(call(twilio, f"/twilio/voice/dial-status?attempt={attempt}", DialCallStatus="no-answer"))
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=2", DialCallStatus="no-answer"))
    twiml(call(twilio, path_of(root.find("Gather").get("action")), SpeechResult="no thanks"))
    assert count(session_factory, OutboxMessage, OutboxMessage.to == CALLER) == 0


def test_no_text_offered_to_a_landline(twilio, rasa, session_factory, clock, settings):
    landline = "+441134960123"
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = EmergencyRasa(session_factory, clock, settings)
    call(twilio, From=landline)
    call(twilio, "/twilio/voice/gather?turn=1", From=landline, SpeechResult="needlestick, patient has HIV")
    twiml(call(twilio, "/twilio/voice/offer?turn=2", From=landline, Digits="1"))
    for attempt in range(2):
        twiml(call(twilio, f"/twilio/voice/dial-status?attempt={attempt}", From=landline, DialCallStatus="busy"))
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=2", From=landline, DialCallStatus="busy"))
    assert "text" not in spoken(root.find("Gather"))
    assert root.find("Gather").get("action").startswith(f"{PUBLIC}/twilio/voice/gather?turn=")


def test_emergency_with_nobody_on_the_rota(twilio, rasa, session_factory, clock, settings):
    _emergency(twilio, rasa, session_factory, clock, settings, rota=False)
    root = twiml(call(twilio, "/twilio/voice/offer?turn=2", Digits="1"))
    assert root.find("Dial") is None
    assert "emergency department now" in spoken(root)
    assert root.find("Gather") is not None


# --- a call that dropped ------------------------------------------------------------------------

def test_a_later_call_from_the_same_number_carries_on_with_the_reference(twilio, rasa, session_factory, clock,
                                                                       settings):
    rasa.reply = EmergencyRasa(session_factory, clock, settings)
    call(twilio)
    with session_factory() as s:
        cases.create(s, data={"line": "sharps", "channel": "voice", "conversation_id": conversation(settings),
                              "answers": {"exposure_type": "percutaneous"}}, now=clock.now, settings=settings)
        s.commit()
    rasa.reply = lambda body: ASK_WHAT_HAPPENED
    call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="a needle")
    # the call drops; ten minutes later the same number calls again
    clock.advance(seconds=600)
    again = "CA" + "9" * 32
    calls = len(rasa.calls)
    root = twiml(call(twilio, sid=again))
    gather = root.find("Gather")
    assert says(gather)[0].startswith("Welcome back.") and "S H, zero zero zero, zero zero one" in says(gather)[0]
    assert "What happened?" in says(gather) and len(rasa.calls) == calls  # nothing relayed, no greeting
    call(twilio, "/twilio/voice/gather?turn=1", sid=again, Digits="1")
    assert rasa.calls[-1]["sender"] == conversation(settings) and rasa.calls[-1]["message"] == "1"

    # an hour later the bot has forgotten: a new call starts afresh
    clock.advance(seconds=3600)
    twiml(call(twilio, sid="CA" + "8" * 32))
    assert rasa.calls[-1]["message"] == "/greet"


def test_the_whisper_summary_is_said_in_words():
    from api.channels.spoken import summary_for_voice

    assert summary_for_voice("sharps injury, blood, source HIV+/HCV?, 0.2h ago.") == (
        "sharps injury, blood, source HIV positive and hepatitis C suspected, 12 minutes ago.")
    assert summary_for_voice("splash to eyes/mouth/nose, 3.4h ago.") == (
        "splash to eyes, mouth or nose, about 3 hours ago.")


def test_a_voicemail_that_picks_up_is_not_an_answer(twilio, rasa, session_factory, clock, settings):
    """The primary's voicemail answers (the leg is 'completed') but never presses 1: the backup is rung."""
    _, people = _emergency(twilio, rasa, session_factory, clock, settings)
    twiml(call(twilio, "/twilio/voice/offer?turn=2", Digits="1"))
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=0", DialCallStatus="completed"))
    assert [n.text for n in root.find("Dial").findall("Number")] == [people["backup"][2]]
    (case,) = all_cases(session_factory)
    assert case.status != "acknowledged"
