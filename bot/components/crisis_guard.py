"""Crisis keyword safety net: the last NLU component in the pipeline.

A statistical classifier can miss "i want to end my life" phrased in a way it
has not seen, or lose it to the fallback threshold. This component checks every
message against the shared crisis lexicon (`lexicon/crisis.yml`, also read by
the API), so the crisis route never depends on the classifier alone.

Whose words: staff report injuries from patients in crisis ("needlestick from
a patient who had taken an overdose"), and that overdose is not the caller's.
Every match is given an owner by the rule written at the top of the lexicon
(`caller`, `other` = a patient's, or `unclear`); the message's owner is caller
if any match is, else unclear if any is, else other. Then:

- caller: the intent is forced to `crisis` with confidence 1.0;
- other: `crisis` is never forced; if the classifier's top intent is `crisis`
  it is replaced by `report_splash` (splash/eye/mouth words), else
  `report_sharps_injury` (sharps words), else the best non-crisis intent in
  the ranking (`nlu_fallback` if there is none);
- unclear: `crisis` is forced, unless the message has sharps words: then the
  intent is set to `report_splash` / `report_sharps_injury` as above and the
  action server gives first aid and the crisis numbers.

Forced and word-chosen intents carry confidence 1.0; when `crisis` is not
forced it is dropped from the ranking. On any match the parse result gets
`crisis_guard: {"phrase", "lexicon_version", "whose"}` (phrase: the longest
phrase with the message's owner), so the conversation log and the action
server see why. Matching and the owner rule follow the lexicon's header
exactly, so the bot and the API (api/triage/crisis.py) agree; both are tested
against tests/data/crisis_owner_cases.yml.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

# bot/components/crisis_guard.py -> repo root is two folders above `bot/`.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LEXICON = "lexicon/crisis.yml"
CRISIS_INTENT = "crisis"
SHARPS_INTENT = "report_sharps_injury"
SPLASH_INTENT = "report_splash"
# Key added to the parse result so the conversation log (and the action
# server, through `whose`) sees why the guard acted.
MATCH_KEY = "crisis_guard"
CALLER, OTHER, UNCLEAR = "caller", "other", "unclear"
# Optional word lists in the lexicon (see its header). Missing ones are empty,
# which leans to crisis: without patient words nothing is ever `other`.
WORD_LISTS = (
    "not_after_number", "number_words", "caller_phrases", "first_person_words",
    "subject_words", "possessive_words", "third_person_words", "patient_words", "sharps_words", "splash_words",
)

# Straight and typographic apostrophes are dropped ("don’t" from a phone
# keyboard must match "dont"); everything else that is not a-z/0-9 is a space.
_APOSTROPHES = re.compile(r"['\u2018\u2019`\u02bc]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# A word, or a character that ends a clause (. ! ? ; and line breaks).
_WORD_OR_BREAK = re.compile(r"[a-z0-9]+|[.!?;\n\r\u2028\u2029]")


def _fold(text: Optional[str]) -> str:
    """NFKC (full-width letters to plain ones), lower-case, drop apostrophes."""
    return _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text or "").lower())


def normalise(text: Optional[str]) -> str:
    """Lower-case, drop apostrophes, punctuation to spaces, squeeze spaces."""
    return _NON_ALNUM.sub(" ", _fold(text)).strip()


def find_phrase(text: Optional[str], phrases: Sequence[str]) -> Optional[str]:
    """Return the first (longest) lexicon phrase found as whole words in `text`."""
    padded = f" {normalise(text)} "
    for phrase in phrases:
        if f" {phrase} " in padded:
            return phrase
    return None


def _normalised_list(path: Path, key: str, raw: Any) -> List[str]:
    if not isinstance(raw, list):
        raise ValueError(f"{path}: '{key}' must be a list")
    out: List[str] = []
    for item in raw:
        n = normalise(str(item))
        if n and n not in out:
            out.append(n)
    return out


def load_lexicon(path: Path) -> Dict[str, Any]:
    """Read and validate the lexicon; normalise and de-duplicate its lists.

    A missing or empty lexicon is an error, not an empty list: a safety net
    that silently matches nothing is worse than a bot that refuses to start.
    The whose-words lists are optional (an absent list is empty).
    """
    import yaml  # PyYAML ships with Rasa

    if not path.is_file():
        raise FileNotFoundError(f"crisis lexicon not found at {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw = data.get("phrases")
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{path}: 'phrases' must be a non-empty list")
    phrases = {normalise(str(p)) for p in raw if str(p).strip()}
    phrases.discard("")
    # Longest first, so the reported phrase is the most specific one.
    ordered = sorted(phrases, key=lambda p: (-len(p), p))
    lexicon: Dict[str, Any] = {"version": str(data.get("version", "")), "phrases": ordered}
    for key in WORD_LISTS:
        lexicon[key] = _normalised_list(path, key, data.get(key) or [])
    unknown = set(lexicon["caller_phrases"]) - set(ordered) - set(lexicon["not_after_number"])
    if unknown:
        raise ValueError(f"{path}: caller_phrases {sorted(unknown)} are not crisis phrases")
    if not set(lexicon["subject_words"]) <= set(lexicon["first_person_words"]):
        raise ValueError(f"{path}: every subject_words entry must be in first_person_words")
    return lexicon


def _occurrences(words: List[str], phrases: Iterable[str]) -> List[Tuple[str, int, int]]:
    """(phrase, start, end) for every whole-word occurrence, end exclusive."""
    by_first: Dict[str, List[List[str]]] = {}
    for phrase in phrases:
        parts = phrase.split()
        if parts:
            by_first.setdefault(parts[0], []).append(parts)
    found = []
    for start, word in enumerate(words):
        for parts in by_first.get(word, ()):
            if words[start:start + len(parts)] == parts:
                found.append((" ".join(parts), start, start + len(parts)))
    return found


def crisis_matches(text: Optional[str], lexicon: Dict[str, Any]) -> List[Tuple[str, str]]:
    """(phrase, owner) for every occurrence of a crisis phrase, in text order.

    The rule is the lexicon header's "Whose words" (same as the API's):
    clauses end at . ! ? ; and line breaks and start again at each subject
    word (i, im, ive, id) outside a patient phrase. A match is `caller` if the
    phrase has a first-person word or is a caller phrase; otherwise the person
    nearest it in its clause decides (looking back first, then forward): a
    patient phrase makes it `other`, a first-person word `caller`, neither
    `unclear`.
    """
    words: List[str] = []
    sentence: List[int] = []
    current = 0
    for token in _WORD_OR_BREAK.findall(_fold(text)):
        if token[0].isalnum():
            words.append(token)
            sentence.append(current)
        elif words and sentence[-1] == current:
            current += 1
    numbers = set(lexicon.get("number_words", ()))
    found = _occurrences(words, lexicon["phrases"]) + [
        (p, start, end)
        for p, start, end in _occurrences(words, lexicon.get("not_after_number", ()))
        if start == 0 or not (words[start - 1].isdigit() or words[start - 1] in numbers)
    ]
    if not found:
        return []
    found.sort(key=lambda m: (m[1], -m[2], m[0]))
    in_patient = [False] * len(words)
    for _, start, end in _occurrences(words, lexicon.get("patient_words", ())):
        for k in range(start, end):
            in_patient[k] = True
    first_person = set(lexicon.get("first_person_words", ()))
    subjects = set(lexicon.get("subject_words", ()))
    callers = set(lexicon.get("caller_phrases", ()))
    clause: List[int] = []
    current = 0
    for k, word in enumerate(words):
        if k and (sentence[k] != sentence[k - 1] or (word in subjects and not in_patient[k])):
            current += 1
        clause.append(current)
    result = []
    for phrase, start, end in found:
        if phrase in callers or any(w in first_person for w in phrase.split()):
            result.append((phrase, CALLER))
        else:
            actors = first_person - set(lexicon.get("possessive_words", ()))
            others = set(lexicon.get("third_person_words", ()))
            result.append((phrase, _nearest_owner(words, clause, in_patient, actors, others, start, end)))
    return result


def _nearest_owner(words: List[str], clause: List[int], in_patient: List[bool], actors: set, others: set,
                   start: int, end: int) -> str:
    """The person nearest the phrase in its clause, looking back first (the subject comes
    before the verb: "i took an overdose of my patient's tablets" is the caller's), then
    forward ("self harm patient"): a patient word makes it `other`, a first-person word
    that acts (`actors`: not "my", "mine" or "me") `caller`, neither `unclear`. "he",
    "she" or "they" (`others`) is someone else: the message's last patient word before it
    makes it `other`, otherwise `unclear`. Same rule as api/triage/crisis.py."""
    for k in list(range(start - 1, -1, -1)) + list(range(end, len(words))):
        if clause[k] < clause[start] or clause[k] > clause[end - 1]:
            continue
        if in_patient[k]:
            return OTHER
        if words[k] in others:
            return OTHER if any(in_patient[:k]) else UNCLEAR
        if words[k] in actors:
            return CALLER
    return UNCLEAR


def owner_of(owners: Iterable[str]) -> Optional[str]:
    """The message's owner: caller if any match is, else unclear if any is, else other."""
    owners = set(owners)
    for owner in (CALLER, UNCLEAR, OTHER):
        if owner in owners:
            return owner
    return None


def resolve_lexicon_path(configured: Optional[str]) -> Path:
    """Relative paths are taken from the repo root, not the working directory."""
    path = Path(configured or DEFAULT_LEXICON)
    return path if path.is_absolute() else REPO_ROOT / path


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class CrisisKeywordGuard(GraphComponent):
    """Forces `crisis` on the caller's crisis words; routes a patient's to the injury intents."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon_path": DEFAULT_LEXICON, "intent": CRISIS_INTENT}

    def __init__(self, config: Dict[Text, Any], lexicon: Dict[str, Any]) -> None:
        self._intent = config.get("intent", CRISIS_INTENT)
        self._lexicon = lexicon
        self._version: str = lexicon["version"]

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "CrisisKeywordGuard":
        # Not trainable: Rasa calls create() on every model load, so the
        # lexicon is read afresh and can be updated without retraining.
        config = {**cls.get_default_config(), **config}
        return cls(config, load_lexicon(resolve_lexicon_path(config["lexicon_path"])))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            matches = crisis_matches(text, self._lexicon)
            whose = owner_of(owner for _, owner in matches)
            if whose is None:
                continue
            has_sharps = find_phrase(text, self._lexicon.get("sharps_words", ())) is not None
            if whose == CALLER or (whose == UNCLEAR and not has_sharps):
                self._force_crisis(message)
            elif whose == UNCLEAR or self._top_intent(message) == self._intent:
                self._set_intent(message, self._instead_of_crisis(message, text, has_sharps))
            # The longest phrase with the message's owner is the one reported.
            phrase = min((p for p, owner in matches if owner == whose), key=lambda p: (-len(p), p))
            message.set(
                MATCH_KEY,
                {"phrase": phrase, "lexicon_version": self._version, "whose": whose},
                add_to_output=True,
            )
        return messages

    @staticmethod
    def _top_intent(message: Message) -> Optional[str]:
        return (message.get(INTENT) or {}).get(INTENT_NAME_KEY)

    def _instead_of_crisis(self, message: Message, text: Optional[str], has_sharps: bool) -> Dict[str, Any]:
        """The injury intent the words point to, else the best non-crisis intent ranked."""
        if find_phrase(text, self._lexicon.get("splash_words", ())) is not None:
            return {INTENT_NAME_KEY: SPLASH_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
        if has_sharps:
            return {INTENT_NAME_KEY: SHARPS_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
        for ranked in message.get(INTENT_RANKING_KEY) or []:
            if ranked.get(INTENT_NAME_KEY) not in (None, self._intent):
                return {INTENT_NAME_KEY: ranked[INTENT_NAME_KEY],
                        PREDICTED_CONFIDENCE_KEY: ranked.get(PREDICTED_CONFIDENCE_KEY, 0.0)}
        return {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}

    def _set_intent(self, message: Message, top: Dict[str, Any]) -> None:
        """Make `top` the intent; `crisis` and the old entry for `top` leave the ranking."""
        ranking = [
            r for r in message.get(INTENT_RANKING_KEY) or []
            if r.get(INTENT_NAME_KEY) not in (self._intent, top[INTENT_NAME_KEY])
        ]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(top), *ranking], add_to_output=True)

    def _force_crisis(self, message: Message) -> None:
        top = {INTENT_NAME_KEY: self._intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [
            r for r in message.get(INTENT_RANKING_KEY) or []
            if r.get(INTENT_NAME_KEY) != self._intent
        ]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(top), *ranking], add_to_output=True)
