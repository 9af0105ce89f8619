"""Voice: TwiML checked structurally, and a whole emergency call walked through turn by turn."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from api.models import Case, CaseEvent, ConversationMessage
from api.services import cases
from tests.api.channels.conftest import CALLER, PUBLIC, all_cases, count, twiml
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

CALL_SID = "CA" + "f" * 32
ASK_DEVICE = [
    {"text": "First, let the wound bleed and wash it with soap and running water."},
    {"text": "What happened?", "buttons": [
        {"title": "A needle, sharp, or a bite that broke the skin", "payload": "1"},
        {"title": "A splash in the eyes, mouth or nose", "payload": "2"}]},
]


def call(twilio, path="/twilio/voice", **params):
    base = {"CallSid": CALL_SID, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": "+441134960000",
            "CallStatus": "in-progress", "Direction": "inbound"}
    return twilio.post(path, {**base, **params})


def says(element):
    return [s.text for s in element.iter("Say")]


def test_incoming_call_asks_with_a_british_gather(twilio, rasa):
    rasa.reply = lambda body: ASK_DEVICE
    root = twiml(call(twilio))
    assert [c.tag for c in root] == ["Gather", "Redirect"]
    gather = root.find("Gather")
    assert gather.get("input") == "speech dtmf"
    assert gather.get("language") == "en-GB"
    assert gather.get("speechTimeout") == "auto"
    assert gather.get("method") == "POST"
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC}/twilio/voice/gather?turn=1"
    hints = gather.get("hints")
    assert "A splash in the eyes, mouth or nose" in hints and "needlestick" in hints and "HIV" in hints
    for say in gather.iter("Say"):
        assert say.get("language") == "en-GB" and say.get("voice") == "Polly.Amy"
    spoken = says(gather)
    assert spoken[0].startswith("First, let the wound bleed")
    assert spoken[-1] == ("Press 1 for A needle, sharp, or a bite that broke the skin. "
                          "Press 2 for A splash in the eyes, mouth or nose. Or say your answer.")
    redirect = root.find("Redirect")
    assert redirect.text == f"{PUBLIC}/twilio/voice/gather?turn=1&silence=1"
    (first,) = rasa.calls
    assert first["sender"] == CALL_SID and first["message"] == "/greet"
    assert first["metadata"] == {"channel": "voice", "phone": CALLER}


def test_silence_reprompts_then_says_goodbye(twilio, rasa, session_factory):
    rasa.reply = lambda body: ASK_DEVICE
    call(twilio)
    root = twiml(call(twilio, "/twilio/voice/gather?turn=1&silence=1"))
    gather = root.find("Gather")
    spoken = says(gather)
    assert spoken[0] == "Sorry, I did not hear anything."
    assert "What happened?" in spoken  # the question again
    assert gather.get("action") == f"{PUBLIC}/twilio/voice/gather?turn=1"
    assert root.find("Redirect").text.endswith("turn=1&silence=2")
    root = twiml(call(twilio, "/twilio/voice/gather?turn=1&silence=3"))
    assert [c.tag for c in root] == ["Say", "Hangup"]
    assert "999" in root.find("Say").text
    assert len(rasa.calls) == 1  # silence is never relayed
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "inbound") == 1


def test_keypad_and_spoken_numbers_pick_the_choice(twilio, rasa, session_factory):
    rasa.reply = lambda body: ASK_DEVICE
    call(twilio)
    call(twilio, "/twilio/voice/gather?turn=1", Digits="2")
    assert rasa.calls[-1]["message"] == "2"
    rasa.reply = lambda body: [{"text": "Which?", "buttons": [{"title": "Yes", "payload": "/affirm"},
                                                                {"title": "No", "payload": "/deny"}]}]
    call(twilio, "/twilio/voice/gather?turn=2", SpeechResult="a needle", Confidence="0.91")
    call(twilio, "/twilio/voice/gather?turn=3", SpeechResult="Two.")
    assert rasa.calls[-1]["message"] == "/deny"
    inbound = [t for t in _turns(session_factory) if t.direction == "inbound"]
    assert [t.provider_sid for t in inbound] == [f"{CALL_SID}:{n}" for n in range(4)]
    assert inbound[2].details["confidence"] == "0.91" and inbound[3].text == "Two."


ADVICE_THEN_QUESTION = [
    {"text": "Because the source has hepatitis B, you may also need hepatitis B immunoglobulin (HBIG)."},
    {"custom": {"advice": True}},
    {"text": "Were you wearing gloves?", "buttons": [{"title": "Yes", "payload": "/affirm"},
                                                     {"title": "No", "payload": "/deny"}]},
]


def test_spoken_advice_can_be_heard_again_with_star_without_a_turn(twilio, rasa, session_factory):
    rasa.reply = lambda body: ADVICE_THEN_QUESTION
    root = twiml(call(twilio))
    spoken = says(root.find("Gather"))
    assert spoken[-1] == "To hear the advice again, press star."
    again = twiml(call(twilio, "/twilio/voice/gather?turn=1", Digits="*"))
    gather = again.find("Gather")
    assert any("immunoglobulin" in s for s in says(gather)) and "Were you wearing gloves?" in says(gather)
    assert gather.get("action") == f"{PUBLIC}/twilio/voice/gather?turn=1"  # the question is still open
    assert len(rasa.calls) == 1  # star is never relayed
    call(twilio, "/twilio/voice/gather?turn=1", Digits="1")
    assert rasa.calls[-1]["message"] == "/affirm"


def test_no_star_offer_without_advice(twilio, rasa):
    rasa.reply = lambda body: ASK_DEVICE
    assert "To hear the advice again, press star." not in says(twiml(call(twilio)).find("Gather"))


def test_silence_on_a_call_with_a_case_ends_with_the_reference_and_what_to_do(twilio, rasa, session_factory, clock,
                                                                             settings):
    rasa.reply = lambda body: ASK_DEVICE
    call(twilio)
    with session_factory() as s:
        standard_rota(s, now=clock.now)
        case = cases.create(s, data={"line": "sharps", "answers": HIV_NEEDLESTICK, "conversation_id": CALL_SID},
                            now=clock.now, settings=settings)
        s.commit()
        ref = case.ref
    root = twiml(call(twilio, "/twilio/voice/gather?turn=1&silence=3"))
    goodbye = root.find("Say").text
    assert " ".join(ch for ch in ref if ch.isalnum()) in goodbye
    assert "Go to A&E now." in goodbye and "999" in goodbye


def _turns(session_factory):
    with session_factory() as s:
        return list(s.scalars(select(ConversationMessage).order_by(ConversationMessage.id)))


def test_a_retried_turn_returns_the_same_twiml(twilio, rasa, session_factory):
    rasa.reply = lambda body: [{"text": f"reply {len(rasa.calls)}"}]
    call(twilio)
    first = call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="i cut my hand")
    again = call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="i cut my hand")
    assert first.text == again.text
    assert len(rasa.calls) == 2
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "inbound") == 2


def test_rasa_down_on_a_call_gives_the_safe_answer_and_a_case(twilio, rasa, session_factory):
    import httpx

    rasa.reply = lambda body: (_ for _ in ()).throw(httpx.ConnectError("refused"))
    call(twilio)
    root = twiml(call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="a needle went into my thumb"))
    # no rota in this test: nobody was paged, so nobody is said to have been told
    assert "do not wait for a call" in " ".join(says(root))
    assert root.find("Gather") is not None  # the caller can still say more
    (case,) = all_cases(session_factory)
    assert case.channel == "voice" and case.conversation_id == CALL_SID and case.contact == {"phone": CALLER}
    assert case.summary == "(call started)\na needle went into my thumb"


def test_withheld_caller(twilio, rasa, session_factory):
    call(twilio, From="+266696687")
    assert rasa.calls[0]["metadata"] == {"channel": "voice", "phone": None}
    assert _turns(session_factory)[0].details["withheld"] is True


class EmergencyRasa:
    """Plays the bot and its action server: the answer that makes the case an emergency
    opens it through the case service, as the action server does through POST /api/cases."""

    def __init__(self, session_factory, clock, settings):
        self.session_factory, self.clock, self.settings = session_factory, clock, settings

    def __call__(self, body):
        message = body["message"]
        if message == "/greet":
            return [{"text": "Occupational health helpline. Tell me what happened."}]
        if "needle" in message:
            return ASK_DEVICE[:1] + [{"text": "Was the patient known to have HIV?", "buttons": [
                {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}]
        if message == "/affirm":
            with self.session_factory() as s:
                cases.create(s, data={"line": "sharps", "channel": "voice", "conversation_id": body["sender"],
                                      "contact": {"phone": body["metadata"]["phone"]}, "answers": HIV_NEEDLESTICK},
                             now=self.clock(), settings=self.settings)
                s.commit()
            return [{"text": "This needs treatment now. Go to the nearest emergency department straight away."}]
        return [{"text": "Thank you."}]


def test_a_whole_emergency_call(twilio, rasa, session_factory, clock, settings):
    with session_factory() as s:
        people = standard_rota(s, now=clock.now)
        primary, backup, lead = people["primary"].mobile, people["backup"].mobile, people["lead"].mobile
    rasa.reply = EmergencyRasa(session_factory, clock, settings)

    # Turn 0: the call comes in.
    root = twiml(call(twilio))
    assert says(root.find("Gather")) == ["Occupational health helpline. Tell me what happened."]

    # Turn 1: what happened, by voice.
    root = twiml(call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="I stabbed myself with a needle"))
    gather = root.find("Gather")
    assert gather.get("action").endswith("turn=2") and "Press 1 for Yes. Press 2 for No." in says(gather)[-1]

    # Turn 2: "1" on the keypad = Yes -> the bot opens an emergency case.
    clock.advance(seconds=30)
    root = twiml(call(twilio, "/twilio/voice/gather?turn=2", Digits="1"))
    assert rasa.calls[-1]["message"] == "/affirm"
    (case,) = all_cases(session_factory)
    assert case.urgency == "emergency"
    assert [c.tag for c in root] == ["Say", "Say", "Dial"]
    first_aid, transfer = says(root)
    assert "emergency department" in first_aid
    assert "putting you through to the on-call" in transfer
    dial = root.find("Dial")
    assert dial.get("answerOnBridge") == "true" and dial.get("timeout") == "20"
    assert dial.get("callerId") == "+441134960000"
    assert dial.get("action") == f"{PUBLIC}/twilio/voice/dial-status?attempt=0"
    (number,) = dial.findall("Number")
    assert number.text == primary
    whisper_url = number.get("url")
    assert whisper_url == f"{PUBLIC}/twilio/voice/whisper?ref={case.ref}"

    # Twilio fetches the whisper for the practitioner who answers (a child call, signed).
    path = whisper_url.removeprefix(PUBLIC)
    root = twiml(call(twilio, path, CallSid="CA" + "1" * 32, To=primary))
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf" and gather.get("numDigits") == "1"
    assert parse_qs(urlsplit(gather.get("action")).query) == {"ref": [case.ref]}
    (summary,) = says(gather)
    assert "S H 0 0 0 0 0 1" in summary and "sharps injury" in summary and "HIV+" in summary
    assert "told to go to the emergency department" in summary
    assert [c.tag for c in root][-1] == "Hangup"  # no key: not connected (voicemail never gets the caller)

    # The primary does not answer: the backup is dialled, with the same whisper.
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=0", DialCallStatus="no-answer"))
    assert "backup" in says(root)[0]
    dial = root.find("Dial")
    assert [n.text for n in dial.findall("Number")] == [backup]
    assert dial.find("Number").get("url") == whisper_url
    assert dial.get("action") == f"{PUBLIC}/twilio/voice/dial-status?attempt=1"
    again = call(twilio, "/twilio/voice/dial-status?attempt=0", DialCallStatus="no-answer")
    assert again.text == twiml_text(root)  # a retried callback: the same answer

    # The backup is busy too: the ladder's next step, the clinical lead, is dialled.
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=1", DialCallStatus="busy"))
    assert "clinical lead" in says(root)[0]
    assert [n.text for n in root.find("Dial").findall("Number")] == [lead]

    # Nobody answers: the caller is told what to do, and can still talk.
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=2", DialCallStatus="no-answer"))
    told = " ".join(says(root))
    assert "emergency department now" in told and "999" in told and "will call you back" in told
    assert root.find("Gather").get("action").endswith("turn=3")

    with session_factory() as s:
        case = s.get(Case, case.id)
        events = [(e.type, e.description) for e in s.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]
        assert ("call_transfer", "caller being put through to Alex Primary (primary)") in events
        results = [d for t, d in events if t == "call_transfer_result"]
        assert results == ["call to Alex Primary (primary): no-answer", "call to Bea Backup (backup): busy",
                           "call to Dr Lee Lead (clinical_lead): no-answer"]
        # The text pages carry on: the primary's page still waits for an acknowledgement.
        assert [(p.tier, p.status) for p in case.pages] == [("primary", "pending")]

    # A later turn does not transfer again.
    root = twiml(call(twilio, "/twilio/voice/gather?turn=3", SpeechResult="ok thanks"))
    assert root.find("Dial") is None and root.find("Gather") is not None


def twiml_text(root):
    import xml.etree.ElementTree as ET

    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def test_emergency_call_answered_by_the_primary(twilio, rasa, session_factory, clock, settings):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = EmergencyRasa(session_factory, clock, settings)
    call(twilio)
    call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="needle")
    call(twilio, "/twilio/voice/gather?turn=2", SpeechResult="yes", Digits="1")
    (case,) = all_cases(session_factory)
    root = twiml(call(twilio, f"/twilio/voice/whisper/accept?ref={case.ref}", CallSid="CA" + "1" * 32,
                      To="+447700900201", Digits="1"))
    assert says(root) == ["Connecting you now."] and root.find("Hangup") is None
    root = twiml(call(twilio, "/twilio/voice/dial-status?attempt=0", DialCallStatus="completed"))
    assert [c.tag for c in root] == ["Say", "Hangup"]
    with session_factory() as s:
        types = [e.type for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert "call_accepted" in types


def test_emergency_with_nobody_on_the_rota(twilio, rasa, session_factory, clock, settings):
    rasa.reply = EmergencyRasa(session_factory, clock, settings)
    call(twilio)
    call(twilio, "/twilio/voice/gather?turn=1", SpeechResult="needle")
    root = twiml(call(twilio, "/twilio/voice/gather?turn=2", Digits="1"))
    assert root.find("Dial") is None
    assert "emergency department now" in " ".join(says(root))
    assert root.find("Gather").get("action").endswith("turn=3")
