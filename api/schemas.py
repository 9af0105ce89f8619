"""Request and response shapes (docs/contract.md). Families per entity, as in the template."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.enums import (
    CaseKind,
    CaseStatus,
    Channel,
    Line,
    OrganisationType,
    PractitionerRole,
    ShiftTier,
    Urgency,
)

# "suspected": the person thinks the source might have it (triaged like positive; not a known
# positive source for RIDDOR).
Tri = Literal["positive", "suspected", "negative", "unknown"]


class _Open(BaseModel):
    """Known fields are checked; extra detail the bot gathers is kept, not refused."""

    model_config = ConfigDict(extra="allow")


class Device(_Open):
    kind: Literal["hollow_bore_needle", "solid_needle", "scalpel", "lancet", "other", "none", "unknown"] = "unknown"
    used: bool | None = None
    in_vein_or_artery: bool | None = None
    visible_blood: bool | None = None
    deep: bool | None = None
    gloves: bool | None = None


class Source(_Open):
    identified: bool | None = None
    hiv: Tri = "unknown"
    hbv: Tri = "unknown"
    hcv: Tri = "unknown"
    risk_factors: (
        list[Literal["injecting_drug_use", "high_prevalence_country", "msm", "known_viraemic", "other"]] | None
    ) = None


class Recipient(_Open):
    hbv_status: Literal["responder", "non_responder", "partial", "unvaccinated", "unknown"] = "unknown"
    pregnant: bool | None = None
    breastfeeding: bool | None = None


class SharpsAnswers(_Open):
    exposure_type: Literal["percutaneous", "mucocutaneous", "non_intact_skin", "intact_skin", "unknown"] = "unknown"
    fluid: Literal["blood", "blood_stained", "high_risk_other", "low_risk", "unknown"] = "unknown"
    device: Device = Field(default_factory=Device)
    source: Source = Field(default_factory=Source)
    recipient: Recipient = Field(default_factory=Recipient)
    occurred_at: datetime | None = None

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("occurred_at needs a time zone, e.g. 2026-11-23T14:05:00+00:00")
        return value


class ReferralAnswers(_Open):
    employee_name: str | None = None
    employee_role: str | None = None
    employee_hours: str | None = None
    consent: bool | None = None
    consent_reason_explained: bool | None = None
    reason: Literal["mental_health", "musculoskeletal", "other"] | None = None
    complex: bool | None = None


class ReferralAnswersCreate(ReferralAnswers):
    consent: Literal[True] = Field(
        description="The employee has agreed to the referral. Without it nothing is sent."
    )
    consent_reason_explained: Literal[True] = Field(description="The employee has been told why they are referred.")


class AdviceInfo(BaseModel):
    code: str
    text: str
    source: str | None = None


class TriageDecision(BaseModel):
    urgency: Urgency
    go_to_emergency_department: bool
    page_on_call: bool
    pep_window_open: bool | None
    hours_since_exposure: float | None = None
    advice: list[AdviceInfo]
    rules_fired: list[str]
    rule_version: str


class Contact(_Open):
    name: str | None = Field(None, max_length=200)
    role: str | None = Field(None, max_length=120)
    phone: str | None = Field(None, max_length=32)


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: Line
    kind: CaseKind | None = None
    channel: Channel = Channel.api
    conversation_id: str | None = Field(None, max_length=128)
    organisation_code: str | None = Field(None, max_length=32)
    contact: Contact | None = None
    answers: dict[str, Any] = Field(default_factory=dict)
    summary: str | None = Field(None, max_length=4000)
    provisional: bool = Field(False, description="Answers are still coming: a 'nothing known' page is held briefly.")

    @model_validator(mode="after")
    def _kind_fits_line(self) -> "CaseCreate":
        if self.kind == CaseKind.exposure and self.line != Line.sharps:
            raise ValueError("kind 'exposure' belongs to line 'sharps'")
        if self.kind == CaseKind.referral and self.line != Line.manager:
            raise ValueError("kind 'referral' belongs to line 'manager'")
        return self


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] | None = None
    contact: Contact | None = None
    organisation_code: str | None = Field(None, max_length=32)
    summary: str | None = Field(None, max_length=4000)
    kind: Literal["crisis"] | None = Field(None, description="Only a move to 'crisis' is allowed.")
    provisional: bool | None = None


class CaseNoteCreate(BaseModel):
    note: str = Field(min_length=1, max_length=4000)
    actor: str = Field("api", min_length=1, max_length=120)
    rating: int | None = Field(None, ge=1, le=5, description="A 1-5 satisfaction rating: stored as a 'rating' event.")


class PersonRequest(BaseModel):
    actor: str = Field("api", min_length=1, max_length=120)
    words: str | None = Field(None, max_length=2000, description="What the person said, for the case record")


class SaidItem(BaseModel):
    code: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=1, max_length=2000)


class AdviceSaid(BaseModel):
    actor: str = Field("api", min_length=1, max_length=120)
    channel: Literal["web", "sms", "voice", "api"] | None = None
    items: list[SaidItem] = Field(min_length=1, max_length=40)


class CaseStatusChange(BaseModel):
    status: CaseStatus
    actor: str = Field("api", min_length=1, max_length=120)
    outcome: str | None = Field(None, max_length=40)


class PersonRef(BaseModel):
    id: int
    name: str
    mobile: str | None = None


class OrganisationRef(BaseModel):
    code: str
    name: str
    type: str


class PageRead(BaseModel):
    id: int
    tier: str
    attempt: int
    status: str
    urgency: str
    practitioner: PersonRef | None
    not_before: datetime | None
    sent_at: datetime | None
    ack_deadline: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class CaseRead(BaseModel):
    ref: str
    line: str
    kind: str
    status: str
    urgency: str | None
    channel: str
    conversation_id: str | None
    organisation: OrganisationRef | None
    contact: dict[str, Any]
    answers: dict[str, Any]
    decision: dict[str, Any] | None
    rule_version: str | None
    owner: PersonRef | None
    pages: list[PageRead]
    call_by: datetime | None = Field(None, description="If nobody has called by then, go to A&E or call 111: "
                                     "the first page's time plus every step of the acknowledgement ladder")
    on_call: PersonRef | None
    summary: str | None
    outcome: str | None
    created_at: datetime
    updated_at: datetime
    triaged_at: datetime | None
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    closed_at: datetime | None


class CaseList(BaseModel):
    data: list[CaseRead]
    count: int


class CaseStatusRead(BaseModel):
    """What a manager may see of a referral: no clinical detail."""

    ref: str
    line: str
    status: str
    urgency: str | None
    updated_at: datetime
    status_words: str  # the one status, in the asker's words
    summary: str  # what happens next


class CaseEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    actor: str
    description: str
    details: dict[str, Any]
    created_at: datetime


class PageAck(BaseModel):
    by: str | None = Field(None, max_length=120)


class OrganisationBase(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
    name: str = Field(min_length=1, max_length=200)
    type: OrganisationType


class OrganisationCreate(OrganisationBase):
    pass


class OrganisationUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    type: OrganisationType | None = None


class OrganisationRead(OrganisationBase):
    model_config = ConfigDict(from_attributes=True)
    id: int


class PractitionerBase(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: PractitionerRole
    mobile: str = Field(min_length=5, max_length=32, description="UK mobile; stored as E.164")
    active: bool = True


class PractitionerCreate(PractitionerBase):
    pass


class PractitionerUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    role: PractitionerRole | None = None
    mobile: str | None = Field(None, min_length=5, max_length=32)
    active: bool | None = None


class PractitionerRead(PractitionerBase):
    model_config = ConfigDict(from_attributes=True)
    id: int


class RotaShiftBase(BaseModel):
    practitioner_id: int
    tier: ShiftTier
    starts_at: datetime
    ends_at: datetime

    @model_validator(mode="after")
    def _order(self) -> "RotaShiftBase":
        for value in (self.starts_at, self.ends_at):
            if value.tzinfo is None:
                raise ValueError("starts_at and ends_at need a time zone")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class RotaShiftCreate(RotaShiftBase):
    pass


class RotaShiftUpdate(BaseModel):
    practitioner_id: int | None = None
    tier: ShiftTier | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class RotaShiftRead(RotaShiftBase):
    model_config = ConfigDict(from_attributes=True)
    id: int


class RotaNow(BaseModel):
    at: datetime
    primary: list[PersonRef]
    backup: list[PersonRef]
    clinical_leads: list[PersonRef]
    nobody_on_call: bool


class Health(BaseModel):
    status: Literal["ok"]


class FollowUp(BaseModel):
    follow_up_on: date


# --- practitioner reviews (issue #17) ----------------------------------------------------------------

class CaseReviewCreate(BaseModel):
    """The practitioner's own urgency for a case, once they have spoken to the person."""

    urgency: Urgency
    by: str = Field(min_length=1, max_length=200, description="The practitioner who reviewed the case")
    note: str | None = Field(None, max_length=4000)

    @field_validator("by")
    @classmethod
    def _named(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name the practitioner who reviewed the case")
        return value


class CaseReviewRead(BaseModel):
    ref: str
    urgency: str
    rules_urgency: str | None
    rule_version: str | None
    verdict: Literal["agree", "under_triage", "over_triage"] | None = Field(
        description="under_triage: the practitioner's urgency is higher than the rules'; over_triage: lower")
    under_triaged: bool
    by: str
    actor: str
    note: str | None
    created_at: datetime
