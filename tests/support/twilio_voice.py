"""Call the API's signed Twilio voice webhooks (POST /twilio/voice and the URLs its TwiML names)
as Twilio does, with the standard library only, so it runs under either virtualenv
(tests/stories_api_down/live_check.py runs under .venv-bot, which has no twilio SDK).

    call = TwilioCall(api, public_base_url=PUBLIC, token=TOKEN, sender="+447700900501")
    greeting = call.start()                    # the call comes in: the greeting
    turn = call.say("I had a needlestick")     # SpeechResult, Confidence 0.92
    turn = call.press("1")                     # Digits
    turn = call.silence()                      # neither: the Gather's actionOnEmptyResult post
    turn = call.dial(["no-answer", "accept"])  # play the warm transfer's ladder
    turn.text, turn.gather, turn.dials, turn.hung_up, problems(turn)

The protocol played (api/channels/voice.py):
- Every request is a form POST signed with X-Twilio-Signature (tests/support/twilio_sms.py
  signature()) over PUBLIC_BASE_URL + path + query, and sent to the API's real address with
  the same path and query. The caller's requests carry the call's base fields (CallSid,
  AccountSid, From, To, CallStatus, Direction).
- A caller's turn goes to the action of the LAST <Gather> of the TwiML it answers: speech as
  SpeechResult + Confidence, a key as Digits, silence as neither (actionOnEmptyResult="true").
  A <Redirect> is followed only when the TwiML has no Gather, Dial or Hangup (Twilio reaches a
  Redirect after a Gather only when the Gather does not post an empty result).
- A <Dial action=...> with <Number url=...>: "accept" plays the practitioner's leg (the Number's
  url, then its whisper Gather's action with Digits=1) and then posts the Dial's action with
  DialCallStatus=completed; "no-answer" (or "busy", "failed") posts the Dial's action with that
  DialCallStatus. The practitioner's leg is a child call, as on Twilio: its own CallSid, the
  caller's as ParentCallSid, To = the number dialled, Direction outbound-dial.
- <Hangup/> ends the call.
"""
from __future__ import annotations

import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tests.support.twilio_sms import ACCOUNT_SID, HELPLINE_NUMBER, signature

VOICE_PATH = "/twilio/voice"
LANGUAGE = "en-GB"
CONFIDENCE = "0.92"
ACCEPT = "accept"
NOT_ANSWERED = ("no-answer", "busy", "failed")
DIAL_OUTCOMES = (ACCEPT, *NOT_ANSWERED)
KEYS = frozenset("0123456789*#")
MAX_REDIRECTS = 5
GATHER_INPUTS = {"speech dtmf", "dtmf speech", "dtmf", "speech"}

# Words that only make sense on a screen. Word boundaries, any case, with their plain inflections.
TEXT_ONLY_WORDS = ("reply", "tap", "click", "button", "type", "link", "menu")
_TEXT_ONLY = re.compile(
    r"\b(?:repl(?:y|ies|ied|ying)|tap(?:s|ped|ping)?|click(?:s|ed|ing)?|buttons?|typ(?:e|es|ed|ing)|links?|menus?)\b",
    re.IGNORECASE)
_RAW_REF = re.compile(r"\b[A-Z]{2}-\d{3,}\b")             # SH-000123: spell it out ("S H, zero zero ...")
_RAW_E164 = re.compile(r"\+\d{1,3}[\d ]{6,}\d")            # +447700900123: digit by digit


class VoiceError(RuntimeError):
    pass


# --- TwiML, parsed ---------------------------------------------------------------------------

@dataclass
class Say:
    text: str
    voice: str | None
    language: str | None


@dataclass
class Gather:
    action: str | None
    input: str | None
    hints: str | None
    language: str | None
    speech_timeout: str | None
    action_on_empty_result: str | None
    num_digits: str | None
    says: list[str] = field(default_factory=list)

    @property
    def speech(self) -> bool:
        return "speech" in (self.input or "").split()


@dataclass
class Dial:
    numbers: list[str]
    whisper_urls: list[str | None]
    action: str | None
    caller_id: str | None


@dataclass
class Twiml:
    """One TwiML document: what is spoken, asked, dialled, and whether it hangs up."""
    xml: str
    says: list[Say]
    gathers: list[Gather]
    dials: list[Dial]
    redirects: list[str]
    hangup: bool
    verbs: list[str]     # the top-level verbs, in order

    @property
    def texts(self) -> list[str]:
        return [s.text for s in self.says]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def gather(self) -> Gather | None:
        """The Gather a caller's next turn answers: the last one."""
        return self.gathers[-1] if self.gathers else None

    @property
    def redirect(self) -> str | None:
        """The Redirect Twilio would follow: only when nothing else takes the call on."""
        if self.gathers or self.dials or self.hangup or not self.redirects:
            return None
        return self.redirects[0]


def parse(xml: str) -> Twiml:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise VoiceError(f"not TwiML ({exc}): {xml[:200]!r}") from exc
    if root.tag != "Response":
        raise VoiceError(f"TwiML's root is <{root.tag}>, not <Response>")
    says: list[Say] = []
    gathers: list[Gather] = []
    dials: list[Dial] = []
    redirects: list[str] = []
    hangup = False
    for verb in root:
        if verb.tag == "Say":
            says.append(_say(verb))
        elif verb.tag == "Gather":
            inner = [_say(s) for s in verb.iter("Say")]
            says += inner
            gathers.append(Gather(
                action=verb.get("action"), input=verb.get("input"), hints=verb.get("hints"),
                language=verb.get("language"), speech_timeout=verb.get("speechTimeout"),
                action_on_empty_result=verb.get("actionOnEmptyResult"), num_digits=verb.get("numDigits"),
                says=[s.text for s in inner]))
        elif verb.tag == "Dial":
            numbers = list(verb.iter("Number"))
            dials.append(Dial(numbers=[(n.text or "").strip() for n in numbers],
                              whisper_urls=[n.get("url") for n in numbers],
                              action=verb.get("action"), caller_id=verb.get("callerId")))
        elif verb.tag == "Redirect":
            redirects.append((verb.text or "").strip())
        elif verb.tag == "Hangup":
            hangup = True
    return Twiml(xml=xml, says=says, gathers=gathers, dials=dials, redirects=redirects, hangup=hangup,
                 verbs=[v.tag for v in root])


def _say(element: ET.Element) -> Say:
    return Say(text=" ".join((element.text or "").split()), voice=element.get("voice"),
               language=element.get("language"))


# --- what a call must never do -----------------------------------------------------------------

def spoken_problems(text: str) -> list[str]:
    """Text-only words, and references or numbers a voice would read as one long word."""
    found = []
    words = sorted({m.group(0).lower() for m in _TEXT_ONLY.finditer(text)})
    if words:
        found.append(f"text-only word(s) {words} in {text[:160]!r}")
    for ref in _RAW_REF.findall(text):
        found.append(f"case reference {ref} not spelled out in {text[:160]!r}")
    for number in _RAW_E164.findall(text):
        found.append(f"phone number {number.strip()} not spelled out in {text[:160]!r}")
    return found


def problems(result: Twiml | TurnResult | Iterable[Twiml], *, party: str = "caller") -> list[str]:
    """Protocol breaches in TwiML. Every Say: a voice, language en-GB, nothing a caller cannot do
    or hear. A caller's Gather: an input, an action, actionOnEmptyResult="true" (silence is posted
    too, so the API counts it), and for speech language en-GB, speechTimeout="auto" and hints.
    A practitioner's Gather (the whisper: keys only) needs only an input and an action.
    A TurnResult is checked leg by leg, each as its party."""
    if isinstance(result, TurnResult):
        return [f"{leg.party} {leg.path}: {p}" for leg in result.legs for p in problems(leg.twiml, party=leg.party)]
    if not isinstance(result, Twiml):
        return [p for twiml in result for p in problems(twiml, party=party)]
    found: list[str] = []
    for say in result.says:
        if not say.voice:
            found.append(f"Say without a voice: {say.text[:80]!r}")
        if say.language != LANGUAGE:
            found.append(f"Say with language {say.language!r}, not {LANGUAGE}: {say.text[:80]!r}")
        found += spoken_problems(say.text)
    for number, gather in enumerate(result.gathers, 1):
        where = f"Gather {number}"
        if gather.input not in GATHER_INPUTS:
            found.append(f"{where}: input={gather.input!r} (expected 'speech dtmf' or 'dtmf')")
        if not gather.action:
            found.append(f"{where}: no action")
        if party != "caller":
            continue
        if gather.action_on_empty_result != "true":
            found.append(f"{where}: actionOnEmptyResult={gather.action_on_empty_result!r} (expected 'true')")
        if gather.speech:
            if gather.language != LANGUAGE:
                found.append(f"{where}: language={gather.language!r} (expected {LANGUAGE})")
            if gather.speech_timeout != "auto":
                found.append(f"{where}: speechTimeout={gather.speech_timeout!r} (expected 'auto')")
            if not (gather.hints or "").strip():
                found.append(f"{where}: no hints")
    return found


# --- a call ----------------------------------------------------------------------------------------

@dataclass
class Leg:
    """One request Twilio made and the TwiML it got back."""
    path: str
    params: dict[str, str]
    twiml: Twiml
    party: str = "caller"    # or "practitioner" (the whisper leg of a transfer)


@dataclass
class TurnResult:
    """Everything one turn of the caller's brought: the answer, the Redirects followed, and for
    a transfer every leg of the ladder."""
    legs: list[Leg] = field(default_factory=list)
    dialled: list[str] = field(default_factory=list)   # the numbers rung, in order

    @property
    def caller(self) -> list[Twiml]:
        return [leg.twiml for leg in self.legs if leg.party == "caller"]

    @property
    def whispers(self) -> list[Twiml]:
        return [leg.twiml for leg in self.legs if leg.party == "practitioner"]

    @property
    def says(self) -> list[str]:
        """What the caller hears, in order."""
        return [text for twiml in self.caller for text in twiml.texts]

    @property
    def text(self) -> str:
        return "\n".join(self.says)

    @property
    def whisper_text(self) -> str:
        return "\n".join(text for twiml in self.whispers for text in twiml.texts)

    @property
    def last(self) -> Twiml | None:
        caller = self.caller
        return caller[-1] if caller else None

    @property
    def gather(self) -> Gather | None:
        return self.last.gather if self.last else None

    @property
    def gathers(self) -> list[Gather]:
        return [g for twiml in self.caller for g in twiml.gathers]

    @property
    def dials(self) -> list[Dial]:
        return [d for twiml in self.caller for d in twiml.dials]

    @property
    def hung_up(self) -> bool:
        return bool(self.last and self.last.hangup)

    def __add__(self, other: TurnResult) -> TurnResult:
        return TurnResult(legs=[*self.legs, *other.legs], dialled=[*self.dialled, *other.dialled])


Transport = Callable[[str, dict[str, str]], str]   # (path + query, form fields) -> TwiML


class TwilioCall:
    """One phone call to the API, played as Twilio plays it. `transport` (path, params) -> TwiML
    replaces the HTTP post (tests feed canned TwiML through it)."""

    def __init__(self, api: str = "", *, public_base_url: str = "", token: str = "", sender: str,
                 to: str = HELPLINE_NUMBER, timeout: float = 120.0, transport: Transport | None = None) -> None:
        self.api, self.public = api.rstrip("/"), (public_base_url or api).rstrip("/")
        self.token, self.timeout = token, timeout
        self.sid = "CA" + secrets.token_hex(16)
        self.base = {"CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": to,
                     "CallStatus": "in-progress", "Direction": "inbound"}
        self.transport = transport or self._post
        self.current: Twiml | None = None   # the caller's latest TwiML
        self.requests: list[tuple[str, dict[str, str]]] = []

    # -- the wire --------------------------------------------------------------------------------
    def path_of(self, url: str) -> str:
        """A TwiML URL (absolute, or relative to the public base) as path + query."""
        parts = urllib.parse.urlsplit(urllib.parse.urljoin(self.public + "/", url))
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _post(self, path: str, params: dict[str, str]) -> str:
        request = urllib.request.Request(
            self.api + path, data=urllib.parse.urlencode(params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Twilio-Signature": signature(self.token, self.public + path, params)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            hint = (" (signature refused: is TWILIO_AUTH_TOKEN the API's, and PUBLIC_BASE_URL the address "
                    "the API was started with?)" if exc.code == 403 else "")
            raise VoiceError(f"POST {path}: HTTP {exc.code}{hint}") from exc

    def _leg(self, url: str, params: dict[str, str], party: str = "caller") -> Leg:
        path = self.path_of(url)
        self.requests.append((path, params))
        leg = Leg(path=path, params=params, twiml=parse(self.transport(path, params)), party=party)
        if party == "caller":
            self.current = leg.twiml
        return leg

    def _caller(self, url: str, params: dict[str, str]) -> TurnResult:
        """A caller's request, then any Redirect Twilio would follow."""
        result = TurnResult(legs=[self._leg(url, params)])
        for _ in range(MAX_REDIRECTS):
            redirect = result.legs[-1].twiml.redirect
            if redirect is None:
                return result
            result.legs.append(self._leg(redirect, dict(self.base)))
        raise VoiceError(f"more than {MAX_REDIRECTS} Redirects in a row")

    # -- the caller ------------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.current is not None and self.current.hangup

    def start(self) -> TurnResult:
        """The call comes in (the greeting)."""
        return self._caller(VOICE_PATH, dict(self.base))

    def answer(self, fields: dict[str, str]) -> TurnResult:
        """Post to the action of the latest TwiML's last Gather."""
        if self.current is None:
            raise VoiceError("the call has not started")
        if self.current.hangup:
            raise VoiceError("the call has ended (Hangup): nothing can be said")
        gather = self.current.gather
        if gather is None:
            what = "it is dialling (give the turn a dial: outcome)" if self.current.dials else "no Gather"
            raise VoiceError(f"nothing to answer: {what}")
        if not gather.action:
            raise VoiceError("the Gather has no action")
        return self._caller(gather.action, {**self.base, **fields})

    def say(self, words: str, *, confidence: str | float = CONFIDENCE) -> TurnResult:
        return self.answer({"SpeechResult": words, "Confidence": str(confidence)})

    def press(self, key: str) -> TurnResult:
        if not key or any(k not in KEYS for k in key):
            raise VoiceError(f"not a key: {key!r}")
        return self.answer({"Digits": key})

    def silence(self) -> TurnResult:
        return self.answer({})

    # -- the transfer -------------------------------------------------------------------------------
    def dial(self, outcomes: Sequence[str]) -> TurnResult:
        """Play each Dial the call reaches: accept (whisper, press 1, the call completes) or not
        answered; the API answers the Dial's action with the next Dial or with words."""
        result = TurnResult()
        for number, outcome in enumerate(outcomes, 1):
            if outcome not in DIAL_OUTCOMES:
                raise VoiceError(f"dial outcome {outcome!r}: not one of {', '.join(DIAL_OUTCOMES)}")
            if self.current is None or not self.current.dials:
                raise VoiceError(f"dial outcome {number} ({outcome}) given, but the call is not dialling")
            dial = self.current.dials[-1]
            if not dial.action:
                raise VoiceError("the Dial has no action: its outcome would never reach the API")
            if not dial.numbers or not dial.numbers[0]:
                raise VoiceError("the Dial has no Number")
            dialled = dial.numbers[0]
            result.dialled.append(dialled)
            child = "CA" + secrets.token_hex(16)
            if outcome == ACCEPT:
                leg = {"CallSid": child, "ParentCallSid": self.sid, "AccountSid": ACCOUNT_SID,
                       "From": dial.caller_id or self.base["To"], "To": dialled, "Called": dialled,
                       "CallStatus": "in-progress", "Direction": "outbound-dial"}
                url = dial.whisper_urls[0]
                if url:
                    whisper = self._leg(url, dict(leg), party="practitioner")
                    result.legs.append(whisper)
                    gather = whisper.twiml.gather
                    if gather is None or not gather.action:
                        raise VoiceError("the whisper asks the practitioner nothing (no Gather with an action)")
                    result.legs.append(self._leg(gather.action, {**leg, "Digits": "1"}, party="practitioner"))
                status = {"DialCallStatus": "completed", "DialCallSid": child, "DialCallDuration": "60"}
            else:
                status = {"DialCallStatus": outcome, "DialCallSid": child, "DialCallDuration": "0"}
            result += self._caller(dial.action, {**self.base, **status})
        return result
