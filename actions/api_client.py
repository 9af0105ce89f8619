"""The only HTTP code in actions/: a small client for the helpline API
(docs/contract.md). It returns typed results or raises one of two exceptions:

- `ApiUnavailable`: connection refused, timeout, or a 5xx. The caller gives the
  safe advice and keeps the unsent answers (actions/sync.py).
- `ApiRejected`: a 4xx, with the status and the API's `detail`.

It sends HELPLINE_BOT_TOKEN, which the API lets do only these calls, and only on the cases
the conversation named in `X-Conversation-Id` opened (`for_conversation`): a case of another
conversation is answered as one that does not exist (404).
"""
from __future__ import annotations

import functools
import logging
import ssl
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import httpx

from actions.config import Settings, get_settings

logger = logging.getLogger(__name__)

#: Still sent in bodies for older APIs; the API records the caller its token proves instead.
BOT_ACTOR = "helpline-bot"
#: The header that names the conversation the action server speaks for (api/deps.py).
CONVERSATION_HEADER = "X-Conversation-Id"
#: The person's own words kept with an answer (e.g. reminder consent) are cut to this length.
MAX_WORDS = 500


class ApiUnavailable(Exception):
    """The API could not be reached or failed (timeout, connection error, 5xx)."""


class ApiRejected(Exception):
    """The API refused the request (4xx)."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail

    @property
    def not_found(self) -> bool:
        return self.status_code == 404


@dataclass(frozen=True)
class Advice:
    code: str
    text: str
    source: Optional[str] = None


@dataclass(frozen=True)
class Decision:
    urgency: Optional[str]
    go_to_emergency_department: bool = False
    page_on_call: bool = False
    page_not_before: Optional[str] = None
    route: Optional[str] = None
    advice: List[Advice] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Optional[Dict[str, Any]]) -> Optional["Decision"]:
        if not data:
            return None
        return cls(
            urgency=data.get("urgency"),
            go_to_emergency_department=bool(data.get("go_to_emergency_department")),
            page_on_call=bool(data.get("page_on_call")),
            page_not_before=data.get("page_not_before"),
            route=data.get("route"),
            advice=[
                Advice(code=a.get("code", ""), text=a.get("text", ""), source=a.get("source"))
                for a in data.get("advice") or []
                if isinstance(a, dict) and a.get("text")
            ],
        )


@dataclass(frozen=True)
class Case:
    ref: str
    line: str
    kind: Optional[str]
    status: Optional[str]
    urgency: Optional[str]
    decision: Optional[Decision]
    on_call_name: Optional[str] = None
    pages_sent: int = 0
    organisation_code: Optional[str] = None
    #: if nobody has called by then, go to A&E or call 111 (None: nobody was paged)
    call_by: Optional[str] = None
    first_paged_at: Optional[str] = None
    #: who accepted a page, if anyone has
    accepted_by: Optional[str] = None
    #: a page went out and is waiting to be acknowledged
    page_waiting: bool = False

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Case":
        pages = [p for p in data.get("pages") or [] if isinstance(p, dict)]
        sent = sorted(str(p["sent_at"]) for p in pages if p.get("sent_at"))
        accepted = next((p.get("acknowledged_by") or (p.get("practitioner") or {}).get("name")
                         for p in pages if p.get("status") == "acknowledged"), None)
        return cls(
            ref=data["ref"],
            line=data.get("line", ""),
            kind=data.get("kind"),
            status=data.get("status"),
            urgency=data.get("urgency"),
            decision=Decision.from_json(data.get("decision")),
            on_call_name=(data.get("on_call") or {}).get("name"),
            pages_sent=len(sent),
            organisation_code=(data.get("organisation") or {}).get("code"),
            call_by=data.get("call_by"),
            first_paged_at=sent[0] if sent else None,
            accepted_by=accepted,
            page_waiting=any(p.get("status") == "pending" for p in pages),
        )


@dataclass(frozen=True)
class CaseStatus:
    ref: str
    status: str
    urgency: Optional[str]
    line: str
    updated_at: Optional[str]
    summary: str
    status_words: str = ""

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "CaseStatus":
        return cls(
            ref=data["ref"],
            status=data.get("status", ""),
            urgency=data.get("urgency"),
            line=data.get("line", ""),
            updated_at=data.get("updated_at"),
            summary=data.get("summary") or "",
            status_words=data.get("status_words") or "",
        )


@dataclass(frozen=True)
class ReminderConsent:
    """The API's record of the worker's answer about reminder texts. `phone` is the mobile the
    texts would go to (None: the case has no mobile number, so none can go)."""
    ref: str
    agreed: bool
    phone: Optional[str] = None

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ReminderConsent":
        return cls(ref=data["ref"], agreed=bool(data.get("agreed")), phone=data.get("phone") or None)


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every call. Building one loads the CA bundle: ~10 ms of CPU, which
    was 40% of the action server's time per turn when every call built its own (py-spy)."""
    return httpx.create_ssl_context()


class HelplineApi:
    """Async client: one `httpx.AsyncClient` per call, so nothing is shared between
    event loops or opened at import (only the TLS context, which holds no connection)."""

    def __init__(self, settings: Optional[Settings] = None,
                 transport: Optional[httpx.AsyncBaseTransport] = None,
                 conversation_id: Optional[str] = None) -> None:
        self.settings = settings or get_settings()
        self._transport = transport
        self.conversation_id = conversation_id or None

    def for_conversation(self, conversation_id: Optional[str]) -> "HelplineApi":
        """The same client, speaking for this conversation (Rasa's sender id)."""
        return HelplineApi(self.settings, self._transport, conversation_id)

    # -- endpoints -----------------------------------------------------------------
    async def create_case(self, body: Dict[str, Any]) -> Case:
        return Case.from_json(await self._request("POST", "/api/cases", json=body))

    async def update_case(self, ref: str, body: Dict[str, Any]) -> Case:
        return Case.from_json(await self._request("PATCH", f"/api/cases/{ref}", json=body))

    async def get_status(self, ref: str) -> CaseStatus:
        """A case's status, if this conversation opened it (else 404, as for an unknown ref)."""
        return CaseStatus.from_json(await self._request("GET", f"/api/cases/{ref}/status"))

    async def add_note(self, ref: str, note: str, actor: str = BOT_ACTOR, rating: Optional[int] = None) -> None:
        """A note on the case; with `rating` (1-5) the API stores a structured rating event."""
        body: Dict[str, Any] = {"note": note, "actor": actor}
        if rating is not None:
            body["rating"] = rating
        await self._request("POST", f"/api/cases/{ref}/events", json=body)

    async def request_person(self, ref: str, words: Optional[str], actor: str = BOT_ACTOR) -> Case:
        """The sharps line's "talk to a person": the API pages on-call on this case now."""
        body = {"actor": actor, "words": (words or "")[:2000] or None}
        return Case.from_json(await self._request("POST", f"/api/cases/{ref}/person", json=body))

    async def record_said(self, ref: str, items: List[Dict[str, str]], channel: Optional[str],
                          actor: str = BOT_ACTOR) -> None:
        """What the person was told, word for word."""
        await self._request("POST", f"/api/cases/{ref}/said",
                            json={"actor": actor, "channel": channel, "items": items})

    async def reminder_consent(self, ref: str, agreed: bool, words: str) -> ReminderConsent:
        """The worker's yes or no to reminder texts for their follow-ups (the latest answer counts)."""
        body = {"agreed": agreed, "words": words[:MAX_WORDS]}
        return ReminderConsent.from_json(
            await self._request("POST", f"/api/cases/{ref}/reminder-consent", json=body))

    async def record_equality(self, line: str, channel: str, answers: Dict[str, str]) -> None:
        """The optional equality answers, kept apart from any case. Always sent without the
        conversation header, whichever client this is: nothing may link them to a person."""
        anonymous = HelplineApi(self.settings, self._transport, conversation_id=None)
        await anonymous._request("POST", "/api/equality",
                                 json={"line": line, "channel": channel, "answers": dict(answers)})

    # -- transport ---------------------------------------------------------------------
    def _client(self) -> httpx.AsyncClient:
        headers = {"Accept": "application/json"}
        if self.settings.api_token:
            headers["Authorization"] = f"Bearer {self.settings.api_token}"
        if self.conversation_id:
            headers[CONVERSATION_HEADER] = self.conversation_id
        return httpx.AsyncClient(
            base_url=self.settings.api_url,
            headers=headers,
            timeout=httpx.Timeout(self.settings.timeout_seconds),
            transport=self._transport,
            verify=_tls_context(),
        )

    async def _request(self, method: str, path: str, json: Optional[Dict[str, Any]] = None) -> Any:
        attempts = 1 + max(0, self.settings.connect_retries)
        response: Optional[httpx.Response] = None
        async with self._client() as client:
            for attempt in range(1, attempts + 1):
                try:
                    response = await client.request(method, path, json=json)
                    break
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    # Nothing reached the API, so a retry cannot duplicate a write.
                    logger.warning("API %s %s: connect failed (attempt %d/%d): %s",
                                   method, path, attempt, attempts, exc)
                    if attempt == attempts:
                        raise ApiUnavailable(f"cannot connect to {self.settings.api_url}") from exc
                except httpx.TimeoutException as exc:
                    raise ApiUnavailable(f"{method} {path} timed out") from exc
                except httpx.TransportError as exc:
                    raise ApiUnavailable(f"{method} {path}: {exc}") from exc
        assert response is not None
        if response.status_code >= 500:
            raise ApiUnavailable(f"{method} {path} -> {response.status_code}")
        if response.status_code >= 400:
            raise ApiRejected(response.status_code, _detail(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiUnavailable(f"{method} {path}: response is not JSON") from exc


def _detail(response: httpx.Response) -> Any:
    try:
        return response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text


def get_api(conversation_id: Optional[str] = None) -> HelplineApi:
    """The client the actions use (settings read now), for the conversation given (the tracker's
    sender id: without it the API finds none of the conversation's cases). Tests replace HTTP
    with respx."""
    return HelplineApi(conversation_id=conversation_id)
