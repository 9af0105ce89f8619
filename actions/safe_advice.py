"""What to say when the API cannot be reached during a sharps conversation.

The API normally decides urgency. Without it the bot falls back to the safest
reading, agreed in the service spec (issue 4): treat the exposure as urgent and give
the on-call route; if the source may be HIV positive (known positive, or a known
risk factor), go to the emergency department now. Each piece is said once.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from rasa_sdk.executor import CollectingDispatcher

from actions import names as n
from actions.config import get_settings

ONCALL = "oncall"
EMERGENCY_DEPARTMENT = "ed"
KEPT = "kept"


def source_may_be_hiv_positive(slots: Mapping[str, Any]) -> bool:
    status = slots.get(n.SLOT_SOURCE_BBV) or []
    risks = slots.get(n.SLOT_SOURCE_RISK) or []
    if isinstance(status, list) and "hiv" in status:
        return True
    return isinstance(risks, list) and any(r not in ("none", n.UNKNOWN) for r in risks)


def give_safe_advice(dispatcher: CollectingDispatcher, slots: Mapping[str, Any],
                     *, sharps: bool = True) -> Dict[str, Any]:
    """Utter what has not been said yet; return the slot update recording it."""
    given: List[str] = list(slots.get(n.SLOT_SAFE_ADVICE_GIVEN) or [])
    if sharps and EMERGENCY_DEPARTMENT not in given and source_may_be_hiv_positive(slots):
        dispatcher.utter_message(response=n.UTTER_API_DOWN_ED)
        given.append(EMERGENCY_DEPARTMENT)
    if ONCALL not in given:
        oncall_phone = get_settings().oncall_phone
        if oncall_phone:
            dispatcher.utter_message(response=n.UTTER_API_DOWN_ONCALL, oncall_phone=oncall_phone)
        else:
            dispatcher.utter_message(response=n.UTTER_API_DOWN_ONCALL_NO_NUMBER)
        given.append(ONCALL)
    if KEPT not in given:
        dispatcher.utter_message(response=n.UTTER_API_DOWN_KEPT)
        given.append(KEPT)
    return {n.SLOT_SAFE_ADVICE_GIVEN: given}
