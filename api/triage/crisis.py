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
`other` (the nearest person is a patient), `unclear` (nobody is named) or
`past` (unclear, but its clause says it is history and nothing makes it
present: a manager's "she took an overdose last year"). A text is a crisis
when any match is `caller` or `unclear`: "needlestick from a patient who had
taken an overdose" is not the caller's crisis, "she has a history of
self-harm" is history for a clinician to see (mentions_crisis_history), while
"i took an overdose", a bare "overdose" and "she said she'll kill herself
tonight" are crises.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import yaml

# api/triage/crisis.py -> repo root -> lexicon/crisis.yml
LEXICON_PATH = Path(__file__).resolve().parents[2] / "lexicon" / "crisis.yml"

Owner = Literal["caller", "other", "unclear", "past"]
CALLER: Owner = "caller"
OTHER: Owner = "other"
UNCLEAR: Owner = "unclear"
PAST: Owner = "past"
# Words either side of a phrase that `present_before_words` / `present_after_words` look at.
PRESENT_NEAR = 2
# After a `history_final_words` word, these keep it at the end of its clause
# ("tried before and was admitted"); so does a pause ("tried before, we...").
_JOINING_WORDS = frozenset({"and", "but", "so", "though", "although", "when", "which", "because", "as", "too"})

_APOSTROPHES = re.compile(r"['\u2019\u2018`\u02bc]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
# A word, a character that ends a clause (. ! ? ; and line breaks), or a pause.
_WORD_OR_BREAK = re.compile(r"[a-z0-9]+|[.!?;\n\r\u2028\u2029]|[,:()\u2013\u2014]|\s-\s")
# A pause inside a sentence (comma, colon, bracket, dash): it does not cut a clause, but a
# `history_final_words` word before it ends its phrase ("tried before, we set up...").
_PAUSES = frozenset(",:()\u2013\u2014-")

# Optional word lists; a lexicon without them still works, leaning to crisis
# (no patient words: nothing is ever `other`).
_WORD_LISTS = (
    "not_after_number", "number_words", "caller_phrases", "first_person_words",
    "subject_words", "possessive_words", "third_person_words", "patient_words", "sharps_words", "splash_words",
    "history_words", "history_final_words", "present_words", "present_before_words", "present_after_words",
)
_SINGLE_WORD_LISTS = (
    "first_person_words", "subject_words", "possessive_words", "third_person_words", "number_words",
    "history_final_words", "present_before_words", "present_after_words",
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
    # phrase -> next words that stop it matching ("top myself up", "kms away")
    not_before: Mapping[str, frozenset[str]] = field(default_factory=dict, hash=False)
    history_words: tuple[str, ...] = ()
    history_final_words: frozenset[str] = frozenset()
    present_words: tuple[str, ...] = ()
    present_before_words: frozenset[str] = frozenset()
    present_after_words: frozenset[str] = frozenset()


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
    for key in _SINGLE_WORD_LISTS:
        if any(" " in w for w in lists[key]):
            raise ValueError(f"{path}: '{key}' must be single words")
    if not set(lists["subject_words"]) <= set(lists["first_person_words"]):
        raise ValueError(f"{path}: every subject_words entry must be in first_person_words")
    not_before = _not_before(path, data.get("not_before") or {}, crisis)
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
        not_before=not_before,
        history_words=lists["history_words"],
        history_final_words=frozenset(lists["history_final_words"]),
        present_words=lists["present_words"],
        present_before_words=frozenset(lists["present_before_words"]),
        present_after_words=frozenset(lists["present_after_words"]),
    )


def _not_before(path: Path, raw: Any, crisis: set[str]) -> dict[str, frozenset[str]]:
    """`not_before`: crisis phrase -> single words that, straight after it, stop it matching."""
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: 'not_before' must be a mapping of phrase: [words]")
    result: dict[str, frozenset[str]] = {}
    for phrase, words in raw.items():
        key = _phrase_list(path, "not_before", [phrase])[0]
        if key not in crisis:
            raise ValueError(f"{path}: not_before {phrase!r} is not a crisis phrase")
        listed = _phrase_list(path, f"not_before {phrase!r}", words)
        if any(" " in w for w in listed):
            raise ValueError(f"{path}: not_before {phrase!r} must list single words")
        result[key] = result.get(key, frozenset()) | frozenset(listed)
    return result


@functools.lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> tuple[str, tuple[str, ...]]:
    """(version, normalised phrases) from a crisis lexicon file; clear error if malformed.

    `phrases` only: the guarded `not_after_number` phrases are matched by
    crisis_phrases_in with their guard.
    """
    lexicon = load_crisis_lexicon(path)
    return lexicon.version, lexicon.phrases


# --- whose words -------------------------------------------------------------

def _words_and_clauses(text: str) -> tuple[list[str], list[int], list[bool]]:
    """Normalised words; for each word the index of the sentence it is in, and whether a
    pause (comma, colon, bracket, spaced dash) follows it."""
    words: list[str] = []
    sentence: list[int] = []
    pause: list[bool] = []
    current = 0
    for token in _WORD_OR_BREAK.findall(_fold(text)):
        if token[0].isalnum():
            words.append(token)
            sentence.append(current)
            pause.append(False)
        elif token.strip() in _PAUSES:
            if words:
                pause[-1] = True
        elif words and sentence[-1] == current:
            current += 1
    return words, sentence, pause


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
    # "top myself up", "kms away": the next word says it is something else.
    return [
        (phrase, start, end) for phrase, start, end in found
        if end == len(words) or words[end] not in lexicon.not_before.get(phrase, ())
    ]


def crisis_matches(text: Any, lexicon: CrisisLexicon | None = None) -> tuple[tuple[str, Owner], ...]:
    """(phrase, owner) for every occurrence of a crisis phrase, in text order."""
    if not isinstance(text, str) or not text:
        return ()
    lexicon = lexicon or load_crisis_lexicon()
    words, sentence, pause = _words_and_clauses(text)
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
            continue
        owner = _nearest_owner(words, clause, pause, in_patient, lexicon, start, end)
        if owner == UNCLEAR and _is_past(words, clause, pause, lexicon, start, end):
            owner = PAST
        result.append((phrase, owner))
    return tuple(result)


def _is_past(words: list[str], clause: list[int], pause: list[bool], lexicon: CrisisLexicon,
             start: int, end: int) -> bool:
    """The phrase's clause says it is history ("history of", "last year", a final "before")
    and nothing says it is now: no present word in the clause ("tonight", "again", "she'll"),
    none just before the phrase ("is suicidal", "currently self harming") or just after it
    ("suicidal now")."""
    lo, hi = clause[start], clause[end - 1]

    def inside(a: int, b: int) -> bool:
        return clause[a] >= lo and clause[b - 1] <= hi

    if any(inside(a, b) for _, a, b in _occurrences(words, lexicon.present_words)):
        return False
    before = range(max(0, start - PRESENT_NEAR), start)
    after = range(end, min(len(words), end + PRESENT_NEAR))
    if any(inside(k, k + 1) and words[k] in lexicon.present_before_words for k in before):
        return False
    if any(inside(k, k + 1) and words[k] in lexicon.present_after_words for k in after):
        return False
    if any(inside(a, b) for _, a, b in _occurrences(words, lexicon.history_words)):
        return True
    for k, word in enumerate(words):
        if word in lexicon.history_final_words and inside(k, k + 1):
            last = k + 1 == len(words) or clause[k + 1] != clause[k] or pause[k]
            if last or words[k + 1] in _JOINING_WORDS:
                return True
    return False


def _nearest_owner(words: list[str], clause: list[int], pause: list[bool], in_patient: list[bool],
                   lexicon: CrisisLexicon, start: int, end: int) -> Owner:
    """The person nearest the phrase in its clause, looking back first (the subject comes
    before the verb: "i took an overdose of my patient's tablets" is the caller's), then
    forward ("self harm patient"): a patient word makes it `other`, a first-person word
    `caller`, neither `unclear`. Possessives and "me" ("spat in my eye", "bit me") say
    whose thing or to whom, not who acts, so the scan passes over them. "he", "she" or
    "they" (or "who", "my nurse") is someone else: the message's last patient word before it
    makes it `other`, and so does a patient word straight after the phrase ("my HCA was
    bitten by a self harm patient"); otherwise `unclear` (a manager's "my nurse said she
    wants to die")."""
    names_a_patient = end < len(words) and in_patient[end] and not pause[end - 1]
    for k in [*range(start - 1, -1, -1), *range(end, len(words))]:
        if clause[k] < clause[start] or clause[k] > clause[end - 1]:
            continue
        if in_patient[k]:
            return OTHER
        if words[k] in lexicon.third_person_words:
            return OTHER if any(in_patient[:k]) or names_a_patient else UNCLEAR
        if words[k] in lexicon.first_person_words and words[k] not in lexicon.possessive_words:
            return CALLER
    return UNCLEAR


def owner_of(owners: Iterable[str]) -> Owner | None:
    """The message's owner: caller if any match is, else unclear if any is, else past if
    any is, else other."""
    owners = set(owners)
    for owner in (CALLER, UNCLEAR, PAST, OTHER):
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
    found = {p for p, _, _ in _crisis_occurrences(normalise_text(text).split(), lexicon)}
    return tuple(p for p in (*lexicon.phrases, *lexicon.not_after_number) if p in found)


def contains_crisis_words(text: Any) -> bool:
    """True when text holds a word or phrase suggesting suicide, self-harm or a threat to life.

    Words that are only about a patient ("needlestick from a patient who had
    taken an overdose") or only about the past ("she took an overdose last
    year") do not count: true when any match's owner is `caller` or `unclear`.
    """
    return crisis_owner(text) in (CALLER, UNCLEAR)


def mentions_crisis_history(text: Any) -> bool:
    """True when text names past suicide, self-harm or overdose that is not the writer's
    and not a patient's ("history of self-harm", "he has tried to kill himself before"):
    not a crisis, but something a clinician must see. True even when the text is also a
    crisis (contains_crisis_words decides that)."""
    return any(owner == PAST for _, owner in crisis_matches(text))
