"""Derive named facts from raw answers; rule files test these facts, never raw answers.

Answers arrive half-filled, with nulls, odd strings and wrong types. Every
reader here turns anything it does not recognise into "unknown" (or None),
and every fact is defined so that unknown leans towards the riskier reading:
a person who cannot answer must never be triaged as routine.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from api.triage.crisis import contains_crisis_words, find_phrases, mentions_crisis_history, normalise_text

# Marker for a numeric fact: rule files test it with ranges (min/max/above/below).
NUMBER = "number"

EXPOSURE_TYPES = frozenset({"percutaneous", "mucocutaneous", "non_intact_skin", "intact_skin"})
SIGNIFICANT_ROUTES = frozenset({"percutaneous", "mucocutaneous", "non_intact_skin"})
FLUIDS = frozenset({"blood", "blood_stained", "high_risk_other", "low_risk"})
HIGH_RISK_FLUIDS = frozenset({"blood", "blood_stained", "high_risk_other"})
DEVICE_KINDS = frozenset({"hollow_bore_needle", "solid_needle", "scalpel", "lancet", "other", "none"})
VIRUS_STATUSES = frozenset({"positive", "suspected", "negative"})
RISK_FACTORS = frozenset({"injecting_drug_use", "high_prevalence_country", "msm", "known_viraemic", "other"})
HBV_RECIPIENT = frozenset({"responder", "non_responder", "partial", "unvaccinated"})
# A human bite (device.bite): whether it went through the skin and whether it drew blood,
# the two things NICE NG184 bases antibiotic prophylaxis on.
BITE_THROUGH_SKIN = frozenset({"drew_blood", "no_blood", "blood_unknown"})
BITES = BITE_THROUGH_SKIN | {"skin_not_broken", "none"}

# The facts each line's rule files may test, with the values each can take.
# None (unknown) is always allowed as well. The loader rejects anything else,
# so a typo in a rule file fails loudly instead of silently never firing.
SHARPS_FACTS: Mapping[str, frozenset | str] = {
    "exposure_type": EXPOSURE_TYPES | {"unknown"},
    "route": frozenset({"significant", "not_significant", "unknown"}),
    "fluid_risk": frozenset({"high", "low", "unknown"}),
    "clean_sharp": frozenset({True, False}),
    "exposure": frozenset({"significant", "possibly_significant", "not_significant"}),
    "hiv_risk": frozenset({"positive", "suspected", "unknown_source", "negative"}),
    "hbv_risk": frozenset({"positive", "unknown", "negative"}),
    "hcv_risk": frozenset({"positive", "unknown", "negative"}),
    "recipient_hbv_status": HBV_RECIPIENT | {"unknown"},
    "recipient_protected": frozenset({True, False}),
    "pregnant_or_breastfeeding": frozenset({True, False}),
    "known_bbv_positive_source": frozenset({True, False}),
    "source_bbv_status": frozenset({"known_positive", "not_known", "known_negative"}),
    "bite": BITES,
    "time_in_future": frozenset({True, False}),
    "hours_since_exposure": NUMBER,
}

MANAGER_FACTS: Mapping[str, frozenset | str] = {
    "kind": frozenset({"crisis", "referral", "advice", "exposure", "unknown"}),
    "crisis": frozenset({True, False}),
    "complex": frozenset({True, False}),
    "physician_topic": frozenset({True, False}),
    "needs_physician": frozenset({True, False}),
    "reason": frozenset({"mental_health", "musculoskeletal", "other", "unknown"}),
    "urgency_requested": frozenset({"routine", "urgent", "unknown"}),
    "work_related": frozenset({True, False}),
    "risk_history": frozenset({True, False}),
}

FACT_SCHEMAS: Mapping[str, Mapping[str, frozenset | str]] = {
    "sharps": SHARPS_FACTS,
    "manager": MANAGER_FACTS,
}


# --- tolerant readers -------------------------------------------------------

def _mapping(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _choice(value: Any, allowed: Iterable[str]) -> str:
    """A vocabulary word, forgiving case, spaces and hyphens; anything else is 'unknown'."""
    if not isinstance(value, str):
        return "unknown"
    word = value.strip().lower().replace("-", "_").replace(" ", "_")
    return word if word in allowed else "unknown"


def _flag(value: Any) -> bool | None:
    """Only a real boolean counts; null, strings and numbers are 'don't know'."""
    return value if isinstance(value, bool) else None


def _risk_factors(value: Any) -> frozenset[str]:
    # null means "don't know" and [] means "none known": both give no factor here,
    # and an unknown HIV status without factors is then 'unknown_source'.
    if not isinstance(value, (list, tuple)):
        return frozenset()
    return frozenset(_choice(v, RISK_FACTORS) for v in value) - {"unknown"}


def parse_occurred_at(value: Any) -> datetime | None:
    """An aware datetime from a datetime or ISO string; None when there is no usable time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        # A date without a time would read as midnight and could wrongly
        # close the PEP window, so a bare date counts as unknown time.
        if len(text) <= 10:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None  # includes plain dates, numbers and None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def hours_since(occurred: datetime | None, now: datetime, future_tolerance: timedelta) -> tuple[float | None, bool]:
    """(hours elapsed or None, whether the time was too far in the future to trust)."""
    if occurred is None:
        return None, False
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        elapsed = now - occurred
    except (OverflowError, ValueError):
        return None, False
    if elapsed < -future_tolerance:
        return None, True
    # A few minutes in the future is clock skew or rounding: call it "just now".
    return max(elapsed.total_seconds() / 3600.0, 0.0), False


# --- sharps -----------------------------------------------------------------

@dataclass(frozen=True)
class SharpsFacts:
    exposure_type: str
    route: str
    fluid_risk: str
    clean_sharp: bool
    exposure: str
    hiv_risk: str
    hbv_risk: str
    hcv_risk: str
    recipient_hbv_status: str
    recipient_protected: bool
    pregnant_or_breastfeeding: bool | None
    known_bbv_positive_source: bool
    source_bbv_status: str
    bite: str
    time_in_future: bool
    hours_since_exposure: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _virus_status(source: Mapping, virus: str, identified: bool | None) -> str:
    status = _choice(source.get(virus), VIRUS_STATUSES)
    # An unidentified source cannot have a known negative status; a reported
    # positive is kept, because believing it is the safer mistake.
    if identified is False and status == "negative":
        return "unknown"
    return status


def _as_triaged(status: str) -> str:
    return "positive" if status == "suspected" else status


def _bite(device: Mapping, exposure_type: str, fluid: str, visible_blood: bool | None) -> str:
    """'none' unless the bot says it was a human bite (device.bite: true). A bite counts as
    through the skin unless the exposure is stated to be on intact skin (unknown leans to
    the riskier reading); it drew blood when blood is reported (the fluid, blood seen, or a
    deep wound, which the bot asks as "a puncture or cut that bled"), and did not when the
    wound is said to be shallow ("a scratch that didn't bleed")."""
    if _flag(device.get("bite")) is not True:
        return "none"
    if exposure_type == "intact_skin":
        return "skin_not_broken"
    deep = _flag(device.get("deep"))
    if fluid in ("blood", "blood_stained") or visible_blood is True or deep is True:
        return "drew_blood"
    if deep is False:
        return "no_blood"
    return "blood_unknown"


def _source_bbv_status(source: Mapping, identified: bool | None) -> str:
    """What is KNOWN about the source's blood-borne viruses (for RIDDOR, not for triage):
    'known_positive' only for a stated positive test of a source not said to be
    unidentified; 'known_negative' only when all three are stated negative; risk factors
    ("known_viraemic" included: it does not say which virus) never make a source known."""
    statuses = [_virus_status(source, virus, identified) for virus in ("hiv", "hbv", "hcv")]
    if identified is not False and "positive" in statuses:
        return "known_positive"
    if all(status == "negative" for status in statuses):
        return "known_negative"
    return "not_known"


def derive_sharps_facts(
    answers: Any, *, now: datetime, future_tolerance: timedelta = timedelta(minutes=10)
) -> SharpsFacts:
    answers = _mapping(answers)
    device = _mapping(answers.get("device"))
    source = _mapping(answers.get("source"))
    recipient = _mapping(answers.get("recipient"))

    exposure_type = _choice(answers.get("exposure_type"), EXPOSURE_TYPES)
    if exposure_type in SIGNIFICANT_ROUTES:
        route = "significant"
    elif exposure_type == "intact_skin":
        route = "not_significant"
    else:
        route = "unknown"

    fluid = _choice(answers.get("fluid"), FLUIDS)
    visible_blood = _flag(device.get("visible_blood"))
    if fluid in HIGH_RISK_FLUIDS or (visible_blood is True and fluid in ("low_risk", "unknown")):
        # Blood seen on the sharp outranks whatever the fluid was called.
        fluid_risk = "high"
    elif fluid == "low_risk":
        fluid_risk = "low"
    else:
        fluid_risk = "unknown"

    bite = _bite(device, exposure_type, fluid, visible_blood)

    # Only an explicit "not used" makes a sharp clean, and only when the injury
    # was (or may have been) from a sharp: a splash has nothing to be clean, and
    # teeth are never a clean sharp.
    clean_sharp = (
        _flag(device.get("used")) is False
        and exposure_type in ("percutaneous", "unknown")
        and _choice(device.get("kind"), DEVICE_KINDS) != "none"
        and bite == "none"
    )

    # A human bite that broke (or may have broken) the skin is a significant exposure
    # whatever the fluid was called: both people's blood may have been involved.
    if route == "not_significant" or (bite not in BITE_THROUGH_SKIN and (fluid_risk == "low" or clean_sharp)):
        exposure = "not_significant"
    elif bite in BITE_THROUGH_SKIN or (route == "significant" and fluid_risk == "high"):
        exposure = "significant"
    else:
        exposure = "possibly_significant"  # something is unknown: tiered like significant

    identified = _flag(source.get("identified"))
    factors = _risk_factors(source.get("risk_factors"))
    hiv = _virus_status(source, "hiv", identified)
    if hiv == "positive" or ("known_viraemic" in factors and hiv != "negative"):
        hiv_risk = "positive"
    elif hiv == "negative":
        hiv_risk = "negative"
    elif factors or hiv == "suspected":
        hiv_risk = "suspected"
    else:
        hiv_risk = "unknown_source"
    # A source who might have hepatitis B or C is triaged as if they had it (the safer
    # mistake); only RIDDOR waits for knowledge (_source_bbv_status).
    hbv_risk = _as_triaged(_virus_status(source, "hbv", identified))
    hcv_risk = _as_triaged(_virus_status(source, "hcv", identified))

    hbv_status = _choice(recipient.get("hbv_status"), HBV_RECIPIENT)
    pregnant, breastfeeding = _flag(recipient.get("pregnant")), _flag(recipient.get("breastfeeding"))
    if pregnant or breastfeeding:
        pregnant_or_breastfeeding: bool | None = True
    elif pregnant is False and breastfeeding is False:
        pregnant_or_breastfeeding = False
    else:
        pregnant_or_breastfeeding = None

    hours, in_future = hours_since(parse_occurred_at(answers.get("occurred_at")), now, future_tolerance)
    source_status = _source_bbv_status(source, identified)

    return SharpsFacts(
        exposure_type=exposure_type,
        route=route,
        fluid_risk=fluid_risk,
        clean_sharp=clean_sharp,
        exposure=exposure,
        hiv_risk=hiv_risk,
        hbv_risk=hbv_risk,
        hcv_risk=hcv_risk,
        recipient_hbv_status=hbv_status,
        recipient_protected=hbv_status == "responder",
        pregnant_or_breastfeeding=pregnant_or_breastfeeding,
        # Known, not suspected: RIDDOR makes an exposure to a source known to carry a
        # blood-borne virus a dangerous occurrence; risk factors or a hunch do not.
        known_bbv_positive_source=source_status == "known_positive",
        source_bbv_status=source_status,
        bite=bite,
        time_in_future=in_future,
        hours_since_exposure=hours,
    )


# --- manager ----------------------------------------------------------------

# Free-text answer fields that say what a referral or question is about.
_TOPIC_FIELDS = ("reason", "topic", "topics", "question", "questions")
# Deep enough for any real answers; stops a pathological nesting from recursing forever.
_MAX_DEPTH = 20


def iter_strings(value: Any, depth: int = 0) -> Iterable[str]:
    """Every string inside nested answers (values only, not keys)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_strings(item, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_strings(item, depth + 1)


@dataclass(frozen=True)
class ManagerFacts:
    kind: str
    crisis: bool
    complex: bool | None
    physician_topic: bool
    needs_physician: bool
    reason: str
    urgency_requested: str
    work_related: bool | None
    # Past suicide, self-harm or overdose named in the request, not a present risk
    # ("she took an overdose last year"): a clinician must see it; the request goes on.
    risk_history: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def derive_manager_facts(
    kind: Any, answers: Any, *, text: Any = None, physician_topics: Iterable[str] = ()
) -> ManagerFacts:
    answers = _mapping(answers)
    kind_word = _choice(kind, ("crisis", "referral", "advice", "exposure"))
    # Crisis words anywhere (the latest message or any answer) override the request,
    # unless they are only about a patient (api/triage/crisis.py, whose words).
    crisis = (
        kind_word == "crisis"
        or answers.get("crisis") is True
        or contains_crisis_words(text)
        or any(contains_crisis_words(s) for s in iter_strings(answers))
    )
    # The bot's own flag (answers the crisis guard read as history: true, or
    # {"said": [...], "lexicon_version": ...}), or the words themselves.
    flagged = answers.get("risk_history")
    risk_history = (
        flagged is True
        or (isinstance(flagged, Mapping) and bool(flagged.get("said")))
        or mentions_crisis_history(text)
        or any(mentions_crisis_history(s) for s in iter_strings(answers))
    )
    topics = tuple(normalise_text(t) for t in physician_topics)
    topic_text = " ".join(s.replace("_", " ") for f in _TOPIC_FIELDS for s in iter_strings(answers.get(f)))
    physician_topic = bool(find_phrases(topic_text, topics))
    complex_case = _flag(answers.get("complex"))
    requested = _choice(answers.get("urgency_requested"), ("routine", "urgent", "emergency"))
    return ManagerFacts(
        kind=kind_word,
        crisis=crisis,
        complex=complex_case,
        physician_topic=physician_topic,
        needs_physician=complex_case is True or physician_topic,
        reason=_choice(answers.get("reason"), ("mental_health", "musculoskeletal", "other")),
        # A manager asking for "emergency" gets the urgent referral path;
        # a real emergency is the crisis route.
        urgency_requested="urgent" if requested == "emergency" else requested,
        work_related=_flag(answers.get("work_related")),
        risk_history=risk_history,
    )
