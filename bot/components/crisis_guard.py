"""Crisis keyword safety net: the last NLU component in the pipeline.

A statistical classifier can miss "i want to end my life" phrased in a way it
has not seen, or lose it to the fallback threshold. This component checks every
message against the shared crisis lexicon (`lexicon/crisis.yml`, also read by
the API), so the crisis route never depends on the classifier alone.

Whose words: staff report injuries from patients in crisis ("needlestick from
a patient who had taken an overdose"), and that overdose is not the caller's.
Every match is given an owner by the rule written at the top of the lexicon
(`caller`, `other` = a patient's, `unclear`, or `past` = history nobody
places as the writer's, "she took an overdose last year"); the message's owner
is caller if any match is, else unclear if any is, else past if any is, else
other. Then:

- caller: the intent is forced to `crisis` with confidence 1.0;
- other and past: `crisis` is never forced; if the classifier's top intent is
  `crisis` it is replaced by `report_splash` (splash/eye/mouth words), else
  `report_sharps_injury` (sharps words), else the best non-crisis intent in
  the ranking if it is confident (0.5), else `inform`, a plain statement
  (`nlu_fallback` if nothing else is ranked). So a manager's referral that
  mentions the employee's past self-harm goes on (the form takes the answer),
  and the action server and the API flag it for a clinician;
- unclear: `crisis` is forced, unless the message has sharps words: then the
  intent is set to `report_splash` / `report_sharps_injury` as above and the
  action server gives first aid and the crisis numbers.

Forced and word-chosen intents carry confidence 1.0; when `crisis` is not
forced it is dropped from the ranking. On any match the parse result gets
`crisis_guard: {"phrase", "lexicon_version", "whose"}` (phrase: the longest
phrase with the message's owner), so the conversation log and the action
server see why. Matching and the owner rule are the API's own code
(api/triage/crisis.py, the rule written at the top of the lexicon), so the bot
and the API cannot disagree; both are tested against
tests/data/crisis_owner_cases.yml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text

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

# One reading of the lexicon for the bot and the API: the rule is pure (no web, no
# database) and runs on both Pythons, so the guard uses the API's own module.
from api.triage.crisis import (  # noqa: F401  (owner_of, crisis_matches, PAST: the guard's API too)
    CALLER,
    PAST,
    UNCLEAR,
    CrisisLexicon,
    crisis_matches,
    find_phrases,
    load_crisis_lexicon,
    normalise_text,
    owner_of,
)

# bot/components/crisis_guard.py -> repo root is two folders above `bot/`.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LEXICON = "lexicon/crisis.yml"
CRISIS_INTENT = "crisis"
SHARPS_INTENT = "report_sharps_injury"
SPLASH_INTENT = "report_splash"
# Instead of crisis, a runner-up intent is taken only this confident (config.yml's
# FallbackClassifier threshold); below it, the message is a plain statement.
ALTERNATIVE_MIN_CONFIDENCE = 0.5
STATEMENT_INTENT = "inform"
# Key added to the parse result so the conversation log (and the action
# server, through `whose`) sees why the guard acted.
MATCH_KEY = "crisis_guard"


def normalise(text: Optional[str]) -> str:
    """Lower-case, drop apostrophes, punctuation to spaces, squeeze spaces (the lexicon's rule)."""
    return normalise_text(text or "")


def find_phrase(text: Optional[str], phrases: Sequence[str]) -> Optional[str]:
    """The first of `phrases` found as whole words in `text`, or None."""
    found = find_phrases(text or "", phrases)
    return found[0] if found else None


def load_lexicon(path: Path) -> CrisisLexicon:
    """Read and validate the lexicon afresh (no cache: a model load re-reads it).

    A missing or empty lexicon is an error, not an empty list: a safety net
    that silently matches nothing is worse than a bot that refuses to start.
    """
    if not path.is_file():
        raise FileNotFoundError(f"crisis lexicon not found at {path}")
    return load_crisis_lexicon.__wrapped__(path)


def resolve_lexicon_path(configured: Optional[str]) -> Path:
    """Relative paths are taken from the repo root, not the working directory."""
    path = Path(configured or DEFAULT_LEXICON)
    return path if path.is_absolute() else REPO_ROOT / path


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class CrisisKeywordGuard(GraphComponent):
    """Forces `crisis` on the caller's crisis words; routes a patient's (and past ones) away from it."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon_path": DEFAULT_LEXICON, "intent": CRISIS_INTENT}

    def __init__(self, config: Dict[Text, Any], lexicon: CrisisLexicon) -> None:
        self._intent = config.get("intent", CRISIS_INTENT)
        self._lexicon = lexicon
        self._version: str = lexicon.version

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
            has_sharps = find_phrase(text, self._lexicon.sharps_words) is not None
            if whose == CALLER or (whose == UNCLEAR and not has_sharps):
                self._force_crisis(message)
            # unclear with sharps words; other or past when the classifier said crisis
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
        if find_phrase(text, self._lexicon.splash_words) is not None:
            return {INTENT_NAME_KEY: SPLASH_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
        if has_sharps:
            return {INTENT_NAME_KEY: SHARPS_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
        for ranked in message.get(INTENT_RANKING_KEY) or []:
            if ranked.get(INTENT_NAME_KEY) not in (None, self._intent):
                confidence = ranked.get(PREDICTED_CONFIDENCE_KEY, 0.0)
                if confidence < ALTERNATIVE_MIN_CONFIDENCE and ranked[INTENT_NAME_KEY] != STATEMENT_INTENT:
                    # A near-zero runner-up ("restart" at 0.005 for "she took an overdose last
                    # year") is noise, not a request: the words are a statement, which an open
                    # question takes as its answer.
                    return {INTENT_NAME_KEY: STATEMENT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                return {INTENT_NAME_KEY: ranked[INTENT_NAME_KEY], PREDICTED_CONFIDENCE_KEY: confidence}
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
