"""Crisis-word detection over free text, using the shared lexicon/crisis.yml.

The only reader of the lexicon: the bot's keyword guard
(bot/components/crisis_guard.py) calls this module too, so the bot and the API
cannot disagree. Every rule here -- normalising, whole-word matching, the "not
after a number" guard and the "whose words" rule -- is the one written at the
top of that file. Pure (yaml and the standard library only) and Python 3.10
compatible, because the bot's environment imports it. Both users are tested
against tests/data/crisis_owner_cases.yml.

Whose words, in short: each match is `caller` (the phrase is first person or
a caller phrase, or the person nearest it in its clause is the writer),
`other` (the nearest person is a patient) or `unclear` (nobody is named). A
text is a crisis unless it has no matches or every match is `other`: "needlestick from
a patient who had taken an overdose" is not the caller's crisis, while
"i took an overdose" and a bare "overdose" are.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml

# api/triage/crisis.py -> repo root -> lexicon/crisis.yml
LEXICON_PATH = Path(__file__).resolve().parents[2] / "lexicon" / "crisis.yml"

Owner = Literal["caller", "other", "unclear"]
CALLER: Owner = "caller"
OTHER: Owner = "other"
UNCLEAR: Owner = "unclear"

_APOSTROPHES = re.compile(r"['\u2019\u2018`\u02bc]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
# A word, or a character that ends a clause (. ! ? ; and line breaks).
_WORD_OR_BREAK = re.compile(r"[a-z0-9]+|[.!?;\n\r\u2028\u2029]")

# Optional word lists; a lexicon without them still works, leaning to crisis
# (no patient words: nothing is ever `other`).
_WORD_LISTS = (
    "not_after_number", "number_words", "caller_phrases", "first_person_words",
    "subject_words", "possessive_words", "third_person_words", "patient_words", "sharps_words", "splash_words",
)


def _fold(text: str) -> str:
    """Steps 1-2 of the lexicon's rule: NFKC, lower-case, drop apostrophes."""
    # NFKC folds full-width letters and similar look-alikes into plain ones.
    return _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text).lower())


def normalise_text(text: str) -> str:
    """Lower-case, drop apostrophes, turn punctuation into spaces, squeeze spaces."""
    return _NOT_WORD.sub(" ", _fold(text)).strip()


def find_phrases(text: str, phrases: Iterable[str]) -> tuple[str, ...]:
    """The (already normalised) phrases that occur in text as whole words."""
    # Padding with spaces makes a plain substring test a word-boundary test.
    padded = f" {normalise_text(text)} "
    return tuple(p for p in phrases if p and f" {p} " in padded)


@dataclass(frozen=True)
class CrisisLexicon:
    version: str
    phrases: tuple[str, ...]
    not_after_number: tuple[str, ...] = ()
    number_words: frozenset[str] = frozenset()
    caller_phrases: frozenset[str] = frozenset()
    first_person_words: frozenset[str] = frozenset()
    subject_words: frozenset[str] = frozenset()
    possessive_words: frozenset[str] = frozenset()
    third_person_words: frozenset[str] = frozenset()
    patient_words: tuple[str, ...] = ()
    sharps_words: tuple[str, ...] = ()
    splash_words: tuple[str, ...] = ()


def _phrase_list(path: Path, key: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{path}: '{key}' must be a list")
    normalised: list[str] = []
    for phrase in raw:
        if not isinstance(phrase, str) or not normalise_text(phrase):
            raise ValueError(f"{path}: {key} entry {phrase!r} is not a non-empty string")
        if phrase != phrase.lower():
            raise ValueError(f"{path}: {key} entry {phrase!r} must be lower-case")
        n = normalise_text(phrase)
        if n not in normalised:  # spelling variants collapse to one entry
            normalised.append(n)
    return tuple(normalised)


@functools.lru_cache(maxsize=4)
def load_crisis_lexicon(path: Path = LEXICON_PATH) -> CrisisLexicon:
    """Everything in a crisis lexicon file, normalised; clear error if malformed."""
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
    lists = {key: _phrase_list(path, key, data.get(key) or []) for key in _WORD_LISTS}
    crisis = {*_phrase_list(path, "phrases", phrases), *lists["not_after_number"]}
    for key in ("caller_phrases",):
        unknown = [p for p in lists[key] if p not in crisis]
        if unknown:
            raise ValueError(f"{path}: {key} {unknown} are not crisis phrases")
    for key in ("first_person_words", "subject_words", "possessive_words", "third_person_words", "number_words"):
        if any(" " in w for w in lists[key]):
            raise ValueError(f"{path}: '{key}' must be single words")
    if not set(lists["subject_words"]) <= set(lists["first_person_words"]):
        raise ValueError(f"{path}: every subject_words entry must be in first_person_words")
    return CrisisLexicon(
        version=version,
        phrases=_phrase_list(path, "phrases", phrases),
        not_after_number=lists["not_after_number"],
        number_words=frozenset(lists["number_words"]),
        caller_phrases=frozenset(lists["caller_phrases"]),
        first_person_words=frozenset(lists["first_person_words"]),
        subject_words=frozenset(lists["subject_words"]),
        possessive_words=frozenset(lists["possessive_words"]),
        third_person_words=frozenset(lists["third_person_words"]),
        patient_words=lists["patient_words"],
        sharps_words=lists["sharps_words"],
        splash_words=lists["splash_words"],
    )


@functools.lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> tuple[str, tuple[str, ...]]:
    """(version, normalised phrases) from a crisis lexicon file; clear error if malformed.

    `phrases` only: the guarded `not_after_number` phrases are matched by
    crisis_phrases_in with their guard.
    """
    lexicon = load_crisis_lexicon(path)
    return lexicon.version, lexicon.phrases


# --- whose words -------------------------------------------------------------

def _words_and_clauses(text: str) -> tuple[list[str], list[int]]:
    """Normalised words, and for each word the index of the sentence it is in."""
    words: list[str] = []
    sentence: list[int] = []
    current = 0
    for token in _WORD_OR_BREAK.findall(_fold(text)):
        if token[0].isalnum():
            words.append(token)
            sentence.append(current)
        elif words and sentence[-1] == current:
            current += 1
    return words, sentence


def _occurrences(words: list[str], phrases: Iterable[str]) -> list[tuple[str, int, int]]:
    """(phrase, start, end) for every whole-word occurrence, end exclusive."""
    by_first: dict[str, list[list[str]]] = {}
    for phrase in phrases:
        parts = phrase.split()
        by_first.setdefault(parts[0], []).append(parts)
    found = []
    for start, word in enumerate(words):
        for parts in by_first.get(word, ()):
            if words[start:start + len(parts)] == parts:
                found.append((" ".join(parts), start, start + len(parts)))
    return found


def _is_number(word: str, lexicon: CrisisLexicon) -> bool:
    return word.isdigit() or word in lexicon.number_words


def _crisis_occurrences(words: list[str], lexicon: CrisisLexicon) -> list[tuple[str, int, int]]:
    found = _occurrences(words, lexicon.phrases)
    found += [
        (phrase, start, end)
        for phrase, start, end in _occurrences(words, lexicon.not_after_number)
        if start == 0 or not _is_number(words[start - 1], lexicon)
    ]
    return found


def crisis_matches(text: Any, lexicon: CrisisLexicon | None = None) -> tuple[tuple[str, Owner], ...]:
    """(phrase, owner) for every occurrence of a crisis phrase, in text order."""
    if not isinstance(text, str) or not text:
        return ()
    lexicon = lexicon or load_crisis_lexicon()
    words, sentence = _words_and_clauses(text)
    matches = sorted(_crisis_occurrences(words, lexicon), key=lambda m: (m[1], -m[2], m[0]))
    if not matches:
        return ()
    in_patient = [False] * len(words)
    for _, start, end in _occurrences(words, lexicon.patient_words):
        for k in range(start, end):
            in_patient[k] = True
    # Clause number per word: a new clause at each sentence break and at each
    # subject word ("i", "im"...) that is not part of a patient phrase.
    clause, current = [], 0
    for k, word in enumerate(words):
        if k and (sentence[k] != sentence[k - 1] or (word in lexicon.subject_words and not in_patient[k])):
            current += 1
        clause.append(current)
    result = []
    for phrase, start, end in matches:
        if phrase in lexicon.caller_phrases or any(w in lexicon.first_person_words for w in phrase.split()):
            result.append((phrase, CALLER))
        else:
            result.append((phrase, _nearest_owner(words, clause, in_patient, lexicon, start, end)))
    return tuple(result)


def _nearest_owner(words: list[str], clause: list[int], in_patient: list[bool], lexicon: CrisisLexicon,
                   start: int, end: int) -> Owner:
    """The person nearest the phrase in its clause, looking back first (the subject comes
    before the verb: "i took an overdose of my patient's tablets" is the caller's), then
    forward ("self harm patient"): a patient word makes it `other`, a first-person word
    `caller`, neither `unclear`. Possessives and "me" ("spat in my eye", "bit me") say
    whose thing or to whom, not who acts, so the scan passes over them. "he", "she" or
    "they" is someone else: the message's last patient word before it makes it `other`,
    otherwise `unclear` (a manager's "my nurse said she wants to die")."""
    for k in [*range(start - 1, -1, -1), *range(end, len(words))]:
        if clause[k] < clause[start] or clause[k] > clause[end - 1]:
            continue
        if in_patient[k]:
            return OTHER
        if words[k] in lexicon.third_person_words:
            return OTHER if any(in_patient[:k]) else UNCLEAR
        if words[k] in lexicon.first_person_words and words[k] not in lexicon.possessive_words:
            return CALLER
    return UNCLEAR


def owner_of(owners: Iterable[str]) -> Owner | None:
    """The message's owner: caller if any match is, else unclear if any is, else other."""
    owners = set(owners)
    for owner in (CALLER, UNCLEAR, OTHER):
        if owner in owners:
            return owner
    return None


def crisis_owner(text: Any) -> Owner | None:
    """Whose crisis the text's crisis words are about; None when it has none."""
    return owner_of(owner for _, owner in crisis_matches(text))


def crisis_phrases_in(text: Any) -> tuple[str, ...]:
    """Which crisis phrases a text contains (empty for anything that is not text)."""
    if not isinstance(text, str) or not text:
        return ()
    lexicon = load_crisis_lexicon()
    found = find_phrases(text, lexicon.phrases)
    guarded = {p for p, _, _ in _crisis_occurrences(normalise_text(text).split(), lexicon)}
    return found + tuple(p for p in lexicon.not_after_number if p in guarded)


def contains_crisis_words(text: Any) -> bool:
    """True when text holds a word or phrase suggesting suicide, self-harm or a threat to life.

    Words that are only about a patient ("needlestick from a patient who had
    taken an overdose") do not count: true unless there are no matches or
    every match's owner is `other`.
    """
    return crisis_owner(text) in (CALLER, UNCLEAR)
