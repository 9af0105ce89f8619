"""Talking to the API from an action, and keeping what could not be sent.

`Outbox` wraps the `pending_sync` slot. Every send first retries what is waiting
(oldest first), so answers kept while the API was down go out on the next
successful call. Shape of the slot:

    {"sharps": {"create": {...case fields...}, "payload": {"answers", "contact", ...}},
     "cases": [ {...POST /api/cases body...}, ... ],
     "notes": [ {"ref": "SH-000123" | null, "note": "..."}, ... ],
     "said": [ {"ref": "SH-000123" | null, "channel": "sms", "items": [{"code", "text"}]}, ... ],
     "reminder_consent": {"ref": "SH-000123", "agreed": true, "words": "yes please"}}

The reminder consent is one item, not a list: only the latest answer counts.

A `null` note ref means "the conversation's sharps case", created later.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import names as n
from actions.api_client import ApiRejected, ApiUnavailable, Case, HelplineApi, ReminderConsent

logger = logging.getLogger(__name__)

SHARPS = "sharps"
CASES = "cases"
NOTES = "notes"
SAID = "said"
CONSENT = "reminder_consent"
CHANNELS = ("sms", "voice", "web", "api")


def conversation_channel(tracker: Tracker) -> Optional[str]:
    """The channel of this message (the relay sends it with every one: a person may move from a
    call to texts), else the conversation's."""
    channel = ((tracker.latest_message or {}).get("metadata") or {}).get("channel")
    if channel not in CHANNELS:
        channel = tracker.get_slot(n.SLOT_CHANNEL)
    return channel if channel in CHANNELS else None


def conversation_phone(tracker: Tracker) -> Optional[str]:
    phone = tracker.get_slot(n.SLOT_SENDER_PHONE)
    if not phone:
        phone = ((tracker.latest_message or {}).get("metadata") or {}).get("phone")
    return phone or None


def case_fields(tracker: Tracker, *, line: str, kind: str) -> Dict[str, Any]:
    """The create-only fields of POST /api/cases for this conversation."""
    body: Dict[str, Any] = {"line": line, "kind": kind, "conversation_id": tracker.sender_id}
    channel = conversation_channel(tracker)
    if channel:
        body["channel"] = channel
    return body


@dataclass
class SendResult:
    case: Optional[Case] = None
    unavailable: bool = False
    rejected: Optional[ApiRejected] = None

    @property
    def ok(self) -> bool:
        return self.case is not None


@dataclass
class Outbox:
    api: HelplineApi
    case_ref: Optional[str]
    pending: Dict[str, Any] = field(default_factory=dict)
    #: cases created from the queue during this action (the person may not know their ref yet)
    created_from_queue: List[Case] = field(default_factory=list)
    last_sharps_case: Optional[Case] = None
    #: the API's record of the reminder consent sent during this action, if it was accepted
    last_consent: Optional[ReminderConsent] = None

    @classmethod
    def from_tracker(cls, api: HelplineApi, tracker: Tracker) -> "Outbox":
        # The API lets the action server reach only the cases this conversation opened.
        return cls(api=api.for_conversation(tracker.sender_id), case_ref=tracker.get_slot(n.SLOT_CASE_REF),
                   pending=copy.deepcopy(tracker.get_slot(n.SLOT_PENDING_SYNC) or {}))

    # -- what the actions call ---------------------------------------------------------
    async def send_sharps(self, create: Dict[str, Any], payload: Dict[str, Any]) -> SendResult:
        """Create the conversation's sharps case, or PATCH it with the latest answers."""
        queued = self.pending.get(SHARPS) or {}
        self.pending[SHARPS] = {"create": queued.get("create") or create, "payload": payload}
        self.last_sharps_case = None
        result = await self._flush()
        if result.ok or result.rejected:
            return SendResult(case=self.last_sharps_case, rejected=result.rejected)
        return result

    async def create_case(self, body: Dict[str, Any], *, queue_if_down: bool = True) -> SendResult:
        """POST /api/cases for another case (crisis, referral, advice)."""
        flushed = await self._flush()
        if flushed.unavailable:
            if queue_if_down:
                self.pending.setdefault(CASES, []).append(body)
            return flushed
        try:
            return SendResult(case=await self.api.create_case(body))
        except ApiUnavailable:
            if queue_if_down:
                self.pending.setdefault(CASES, []).append(body)
            return SendResult(unavailable=True)
        except ApiRejected as exc:
            logger.warning("case refused by the API: %s", exc)
            return SendResult(rejected=exc)

    async def update_case(self, ref: str, body: Dict[str, Any]) -> SendResult:
        """PATCH a case that already exists (not queued when the API is down)."""
        return await self._send_now(lambda: self.api.update_case(ref, body), f"update of {ref}")

    async def add_note(self, ref: Optional[str], note: str, rating: Optional[int] = None) -> SendResult:
        item: Dict[str, Any] = {"ref": ref, "note": note}
        if rating is not None:
            item["rating"] = rating
        self.pending.setdefault(NOTES, []).append(item)
        return await self._flush()

    async def record_said(self, items: List[Dict[str, str]], channel: Optional[str]) -> SendResult:
        """Record on the case what the person was just told (kept and sent later if the API is down)."""
        self.pending.setdefault(SAID, []).append({"ref": self.case_ref, "items": items, "channel": channel})
        return await self._flush()

    async def record_reminder_consent(self, ref: str, agreed: bool, words: str) -> SendResult:
        """The worker's answer about reminder texts. Kept if the API is down (a later answer in
        the conversation replaces it); `last_consent` holds what the API recorded."""
        self.pending[CONSENT] = {"ref": ref, "agreed": agreed, "words": words}
        self.last_consent = None
        return await self._flush()

    @property
    def consent_waiting(self) -> bool:
        return CONSENT in self.pending

    async def request_person(self, ref: str, words: Optional[str]) -> SendResult:
        """Page on-call on the sharps case now ("talk to a person"). Never queued: if it cannot
        be sent now, the caller is told to go to A&E or call 111 instead of waiting."""
        return await self._send_now(lambda: self.api.request_person(ref, words), f"request for a person on {ref}")

    async def _send_now(self, call: Callable[[], Awaitable[Case]], what: str) -> SendResult:
        """What is waiting first, then one call that is not kept for later if it fails."""
        flushed = await self._flush()
        if flushed.unavailable:
            return flushed
        try:
            return SendResult(case=await call())
        except ApiUnavailable:
            return SendResult(unavailable=True)
        except ApiRejected as exc:
            logger.warning("%s refused: %s", what, exc)
            return SendResult(rejected=exc)

    def slots(self) -> Dict[str, Any]:
        return {n.SLOT_PENDING_SYNC: self.pending or None, n.SLOT_CASE_REF: self.case_ref}

    def announce_synced(self, dispatcher: CollectingDispatcher) -> None:
        for case in self.created_from_queue:
            dispatcher.utter_message(response=n.UTTER_API_SYNCED, case_ref=case.ref)

    # -- sending what is waiting ------------------------------------------------------------
    async def _flush(self) -> SendResult:
        """Send everything queued, oldest kind first. Stops at the first unreachable call."""
        rejected: Optional[ApiRejected] = None
        try:
            sharps = self.pending.get(SHARPS)
            if sharps:
                try:
                    if self.case_ref:
                        case = await self.api.update_case(self.case_ref, sharps["payload"])
                    else:
                        case = await self.api.create_case({**sharps["create"], **sharps["payload"]})
                        self.case_ref = case.ref
                    self.last_sharps_case = case
                except ApiRejected as exc:
                    logger.warning("sharps answers refused by the API: %s", exc)
                    rejected = exc
                self.pending.pop(SHARPS, None)
            while self.pending.get(CASES):
                body = self.pending[CASES][0]
                try:
                    self.created_from_queue.append(await self.api.create_case(body))
                except ApiRejected as exc:
                    logger.warning("queued case refused by the API: %s", exc)
                self.pending[CASES].pop(0)
            while self.pending.get(NOTES):
                item = self.pending[NOTES][0]
                ref = item.get("ref") or self.case_ref
                if ref:
                    try:
                        await self.api.add_note(ref, item["note"], rating=item.get("rating"))
                    except ApiRejected as exc:
                        logger.warning("note refused by the API: %s", exc)
                self.pending[NOTES].pop(0)
            while self.pending.get(SAID):
                item = self.pending[SAID][0]
                ref = item.get("ref") or self.case_ref
                if ref:
                    try:
                        await self.api.record_said(ref, item["items"], item.get("channel"))
                    except ApiRejected as exc:
                        logger.warning("record of advice said refused by the API: %s", exc)
                self.pending[SAID].pop(0)
            consent = self.pending.get(CONSENT)
            if consent:
                ref = consent.get("ref") or self.case_ref
                if ref:
                    try:
                        self.last_consent = await self.api.reminder_consent(ref, bool(consent.get("agreed")),
                                                                            str(consent.get("words") or ""))
                    except ApiRejected as exc:
                        logger.warning("reminder consent refused by the API: %s", exc)
                self.pending.pop(CONSENT, None)
        except ApiUnavailable as exc:
            logger.warning("API unavailable, keeping answers for later: %s", exc)
            self._tidy()
            return SendResult(unavailable=True)
        self._tidy()
        return SendResult(case=self.last_sharps_case, rejected=rejected)

    def _tidy(self) -> None:
        for key in (CASES, NOTES, SAID):
            if key in self.pending and not self.pending[key]:
                self.pending.pop(key)
