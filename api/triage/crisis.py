"""Crisis-word detection over free text, using the shared lexicon/crisis.yml.

The lexicon is data shared with the bot, so the normalising rule here must
stay the one written at the top of that file.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable

import yaml

# api/triage/crisis.py -> repo root -> lexicon/crisis.yml
LEXICON_PATH = Path(__file__).resolve().parents[2] / "lexicon" / "crisis.yml"

_APOSTROPHES = re.compile(r"['\u2019\u2018`\u02bc]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise_text(text: str) -> str:
    """Lower-case, drop apostrophes, turn punctuation into spaces, squeeze spaces."""
    # NFKC folds full-width letters and similar look-alikes into plain ones.
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = _APOSTROPHES.sub("", folded)
    return _NOT_WORD.sub(" ", folded).strip()


def find_phrases(text: str, phrases: Iterable[str]) -> tuple[str, ...]:
    """The (already normalised) phrases that occur in text as whole words."""
    # Padding with spaces makes a plain substring test a word-boundary test.
    padded = f" {normalise_text(text)} "
    return tuple(p for p in phrases if p and f" {p} " in padded)


@functools.lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> tuple[str, tuple[str, ...]]:
    """(version, normalised phrases) from a crisis lexicon file; clear error if malformed."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with version, phrases, source")
    version, phrases, source = data.get("version"), data.get("phrases"), data.get("source")
    if not isinstance(version, str) or not version:
        raise ValueError(f"{path}: 'version' must be a non-empty string")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"{path}: 'source' must say where the list comes from")
    if not isinstance(phrases, list) or not phrases:
        raise ValueError(f"{path}: 'phrases' must be a non-empty list")
    normalised: list[str] = []
    for phrase in phrases:
        if not isinstance(phrase, str) or not normalise_text(phrase):
            raise ValueError(f"{path}: phrase {phrase!r} is not a non-empty string")
        if phrase != phrase.lower():
            raise ValueError(f"{path}: phrase {phrase!r} must be lower-case")
        n = normalise_text(phrase)
        if n not in normalised:  # spelling variants collapse to one entry
            normalised.append(n)
    return version, tuple(normalised)


def crisis_phrases_in(text: Any) -> tuple[str, ...]:
    """Which crisis phrases a text contains (empty for anything that is not text)."""
    if not isinstance(text, str) or not text:
        return ()
    return find_phrases(text, load_lexicon()[1])


def contains_crisis_words(text: Any) -> bool:
    """True when text holds a word or phrase suggesting suicide, self-harm or a threat to life."""
    return bool(crisis_phrases_in(text))
