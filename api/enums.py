"""The closed vocabularies of the backend (docs/contract.md). StrEnum so they serialise as text."""
from enum import StrEnum


class Line(StrEnum):
    sharps = "sharps"
    manager = "manager"


class Channel(StrEnum):
    sms = "sms"
    voice = "voice"
    web = "web"
    api = "api"


class CaseKind(StrEnum):
    exposure = "exposure"
    referral = "referral"
    advice = "advice"
    crisis = "crisis"


class Urgency(StrEnum):
    routine = "routine"
    urgent = "urgent"
    emergency = "emergency"


class CaseStatus(StrEnum):
    open = "open"
    triaged = "triaged"
    escalated = "escalated"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    follow_up = "follow_up"
    closed = "closed"


class OrganisationType(StrEnum):
    gp_practice = "gp_practice"
    community_pharmacy = "community_pharmacy"
    federation = "federation"
    other = "other"


class PractitionerRole(StrEnum):
    nurse = "nurse"
    physician = "physician"
    clinical_lead = "clinical_lead"


class ShiftTier(StrEnum):
    primary = "primary"
    backup = "backup"


class PageTier(StrEnum):
    primary = "primary"
    backup = "backup"
    clinical_lead = "clinical_lead"
    everyone = "everyone"


class PageStatus(StrEnum):
    scheduled = "scheduled"  # written, waiting for not_before (held or out of hours)
    pending = "pending"  # sent, waiting for acknowledgement
    acknowledged = "acknowledged"
    escalated = "escalated"  # deadline passed; the next step was paged
    superseded = "superseded"  # someone else acknowledged, or a higher tier replaced it
    cancelled = "cancelled"  # a scheduled page that later answers made unnecessary


class TurnStatus(StrEnum):
    """An inbound turn's state (ConversationMessage.status); its replies carry the same."""

    pending = "pending"  # stored, not yet answered: a live request holds it, or recovery will
    relayed = "relayed"  # Rasa answered
    safe_answer = "safe_answer"  # Rasa down, slow or silent, or the turn was recovered: a case is open
    handled = "handled"  # answered without Rasa (STOP, HELP, ACK ...)


class OutboxStatus(StrEnum):
    queued = "queued"
    sending = "sending"  # claimed by one worker
    sent = "sent"
    logged = "logged"  # offline mode: written to the outbox and the log only
    failed = "failed"
