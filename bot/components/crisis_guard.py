"""Crisis keyword safety net: the last NLU component in the pipeline.

A statistical classifier can miss "i want to end my life" phrased in a way it
has not seen, or lose it to the fallback threshold. This component checks every
message against the shared crisis lexicon (`lexicon/crisis.yml`, also read by
the API) and, on a whole-word match, forces the intent to `crisis` with
confidence 1.0, so the crisis route never depends on the classifier alone.

Matching follows the rules written at the top of the lexicon, so the bot and
the API agree on what counts as a match.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
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
# Key added to the parse result so the conversation log shows why crisis fired.
MATCH_KEY = "crisis_guard"

# Straight and typographic apostrophes are dropped ("don’t" from a phone
# keyboard must match "dont"); everything else that is not a-z/0-9 is a space.
_APOSTROPHES = re.compile(r"['\u2018\u2019`\u02bc]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(text: Optional[str]) -> str:
    """Lower-case, drop apostrophes, punctuation to spaces, squeeze spaces."""
    lowered = _APOSTROPHES.sub("", (text or "").lower())
    return _NON_ALNUM.sub(" ", lowered).strip()


def find_phrase(text: Optional[str], phrases: Sequence[str]) -> Optional[str]:
    """Return the first (longest) lexicon phrase found as whole words in `text`."""
    padded = f" {normalise(text)} "
    for phrase in phrases:
        if f" {phrase} " in padded:
            return phrase
    return None


def load_lexicon(path: Path) -> Dict[str, Any]:
    """Read and validate the lexicon; normalise and de-duplicate its phrases.

    A missing or empty lexicon is an error, not an empty list: a safety net
    that silently matches nothing is worse than a bot that refuses to start.
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
    return {"version": str(data.get("version", "")), "phrases": ordered}


def resolve_lexicon_path(configured: Optional[str]) -> Path:
    """Relative paths are taken from the repo root, not the working directory."""
    path = Path(configured or DEFAULT_LEXICON)
    return path if path.is_absolute() else REPO_ROOT / path


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class CrisisKeywordGuard(GraphComponent):
    """Overrides the predicted intent with `crisis` when a lexicon phrase appears."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"lexicon_path": DEFAULT_LEXICON, "intent": CRISIS_INTENT}

    def __init__(self, config: Dict[Text, Any], lexicon: Dict[str, Any]) -> None:
        self._intent = config.get("intent", CRISIS_INTENT)
        self._phrases: List[str] = lexicon["phrases"]
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
            phrase = find_phrase(message.get(TEXT), self._phrases)
            if phrase is not None:
                self._force_crisis(message, phrase)
        return messages

    def _force_crisis(self, message: Message, phrase: str) -> None:
        top = {INTENT_NAME_KEY: self._intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [
            r for r in message.get(INTENT_RANKING_KEY) or []
            if r.get(INTENT_NAME_KEY) != self._intent
        ]
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [dict(top), *ranking], add_to_output=True)
        message.set(
            MATCH_KEY,
            {"phrase": phrase, "lexicon_version": self._version},
            add_to_output=True,
        )
