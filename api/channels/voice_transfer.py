"""A call's warm transfer: the ladder the pages use, a whisper, and press 1 to accept.

    POST /twilio/voice/dial-status?attempt=K     the Dial ended: answered, or ring the next person
    POST /twilio/voice/whisper?ref=&attempt=&practitioner=&tier=   read to whoever picks up, before connecting
    POST /twilio/voice/whisper/accept?...        they pressed a key: connect, and record who it was

The people dialled are paging.call_targets (primary, backup, clinical lead: escalation.call_order),
fixed when the transfer starts. Whoever presses 1 is recorded on the case and acknowledges its
page, so the text ladder stops. A voicemail never presses 1, so it never gets the caller.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from twilio.twiml.voice_response import VoiceResponse

from api.channels import spoken
from api.channels.security import TwilioParams
from api.channels.voice import nobody_answered
from api.channels.voice_twiml import XML, CallState, Voice
from api.deps import SessionDep, SettingsDep
from api.services import call_transfer, turn_store
from api.services.summary import case_summary

router = APIRouter(prefix="/twilio/voice", tags=["twilio"], include_in_schema=False)

ANSWERED_TEXT = ("You are through to the on-call practitioner's call. Thank you for calling the occupational "
                 "health helpline. If anything changes, call or text this number again. Goodbye.")
NEXT_TEXT = {
    "backup": "The on-call practitioner did not answer. I am trying the backup practitioner now.",
    "clinical_lead": "Nobody has answered yet. I am trying the clinical lead now.",
}
WHISPER_NO_KEY = "No key pressed. The call will go to the next practitioner. Goodbye."
CONNECTING = "Connecting you now."


@router.post("/dial-status")
def dial_status(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
                attempt: int = 0) -> Response:
    call_sid = params.get("CallSid", "")
    status = (params.get("DialCallStatus") or "").lower()
    now = request.app.state.clock()
    info = call_transfer.transfer_info(session, call_sid)
    targets: list[dict[str, Any]] = info.get("targets") or []
    voice = Voice(settings)
    response = VoiceResponse()
    # Twilio reports a leg that picked up as "completed" even when nobody pressed 1 on the whisper
    # (a voicemail, or a practitioner who could not take it): only an accepted leg ends the ladder.
    if status in ("completed", "answered") and call_transfer.was_accepted(session, info.get("ref"), attempt):
        voice.say(response, ANSWERED_TEXT)
        response.hangup()
        said = ANSWERED_TEXT
    elif attempt + 1 < len(targets):
        target = targets[attempt + 1]
        said = NEXT_TEXT.get(target["tier"], NEXT_TEXT["backup"])
        voice.say(response, said)
        voice.dial(response, target=target, ref=info["ref"], attempt=attempt + 1, caller_id=params.get("To"))
    else:
        case = call_transfer.case_by_ref(session, info.get("ref"))
        said = "nobody answered"
        if case is not None:
            nobody_answered(voice, response, session, params, case=case,
                            turn=turn_store.highest_turn(session, call_sid) + 1, now=now)
        else:
            voice.ask(response, replies=[], state=CallState(turn_store.highest_turn(session, call_sid) + 1))
    row, new = call_transfer.record_dial_result(session, call_sid=call_sid, attempt=attempt,
                                                dial_status=status or "unknown", text=said, now=now)
    if not new and (row.details or {}).get("twiml"):
        return Response(row.details["twiml"], media_type=XML)
    body = str(response)
    row.details = {**(row.details or {}), "twiml": body}
    session.commit()
    return Response(body, media_type=XML)


@router.post("/whisper")
def whisper(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
            ref: str = "", practitioner: int = 0) -> Response:
    """Read to the practitioner who answered, before the caller is connected."""
    now = request.app.state.clock()
    case = call_transfer.case_by_ref(session, ref)
    voice = Voice(settings)
    response = VoiceResponse()
    accept = voice.url(f"/twilio/voice/whisper/accept?{request.url.query}")
    gather = response.gather(input="dtmf", num_digits=1, timeout=10, method="POST", action=accept,
                             action_on_empty_result=False)
    if case is None:
        voice.say(gather, "Occupational health helpline: an emergency caller is waiting. Press 1 to take the call.")
    else:
        ed = bool((case.decision or {}).get("go_to_emergency_department"))
        voice.say(gather, (
            f"Occupational health helpline: an {case.urgency or 'urgent'} caller is waiting. "
            f"Case {case.ref}. {spoken.summary_for_voice(case_summary(case, now=now))} "
            + ("The caller has been told to go to the emergency department. " if ed else "")
            + "Press 1 to take the call."
        ))
    voice.say(response, WHISPER_NO_KEY)
    response.hangup()
    return Response(str(response), media_type=XML)


@router.post("/whisper/accept")
def whisper_accept(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
                   ref: str = "", attempt: int = 0, practitioner: int = 0, tier: str = "") -> Response:
    """1 takes the call (any other key, or none, hangs up this leg: the ladder moves on)."""
    response = VoiceResponse()
    if (params.get("Digits") or "").strip() != "1":
        response.hangup()
        return Response(str(response), media_type=XML)
    call_transfer.accept(session, ref=ref, practitioner_id=practitioner or None, tier=tier or None,
                         child_call_sid=params.get("CallSid"), attempt=attempt, now=request.app.state.clock())
    Voice(settings).say(response, CONNECTING)
    return Response(str(response), media_type=XML)
