"""The crisis guard forces `crisis` on a lexicon match and leaves other messages alone."""

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.crisis_guard import (
    CrisisKeywordGuard,
    find_phrase,
    load_lexicon,
    normalise,
    resolve_lexicon_path,
)

REPO = Path(__file__).resolve().parents[2]
LEXICON = """\
version: test-1
source: test
phrases:
  - end it all
  - cant go on
  - od
  - self-harm
"""


def make_guard(path: Path) -> CrisisKeywordGuard:
    return CrisisKeywordGuard.create({"lexicon_path": str(path)}, None, None, None)


@pytest.fixture
def guard(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text(LEXICON)
    return make_guard(path)


def classified(text, intent="inform", confidence=0.8):
    """A message as the classifiers before the guard would leave it."""
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set(
        "intent_ranking",
        [{"name": intent, "confidence": confidence}, {"name": "crisis", "confidence": 0.1},
         {"name": "greet", "confidence": 0.1}],
        add_to_output=True,
    )
    return message


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("I just want to END IT ALL.", "end it all"),
        ("i can't go on", "cant go on"),  # apostrophe dropped
        ("i can\u2019t go on!!", "cant go on"),  # phone keyboards type a curly apostrophe
        ("took an OD last night", "od"),
        ("been self harming... self harm again", "self harm"),  # lexicon's "self-harm" normalised
        ("i keep thinking i'll end-it-all", "end it all"),
    ],
)
def test_match_forces_crisis_with_full_confidence(guard, text, phrase):
    [message] = guard.process([classified(text)])
    assert message.get("intent") == {"name": "crisis", "confidence": 1.0}
    ranking = message.get("intent_ranking")
    assert ranking[0] == {"name": "crisis", "confidence": 1.0}
    assert [r["name"] for r in ranking].count("crisis") == 1
    assert [r["name"] for r in ranking[1:]] == ["inform", "greet"]
    assert message.get("crisis_guard") == {"phrase": phrase, "lexicon_version": "test-1"}
    assert "crisis_guard" in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    "text",
    ["good morning", "the end of it all went fine", "cant go", "odd", "i need a nod", "", None],
)
def test_no_whole_word_match_leaves_the_classifier_result(guard, text):
    message = classified(text) if text is not None else Message(data={})
    before = message.get("intent")
    [after] = guard.process([message])
    assert after.get("intent") == before
    assert after.get("crisis_guard") is None


def test_overrides_nlu_fallback(guard):
    [message] = guard.process([classified("i cant go on", intent="nlu_fallback", confidence=0.3)])
    assert message.get("intent")["name"] == "crisis"


def test_processes_every_message_in_a_batch(guard):
    messages = guard.process([classified("hello"), classified("i want to end it all")])
    assert [m.get("intent")["name"] for m in messages] == ["inform", "crisis"]


def test_missing_lexicon_fails_loudly(tmp_path):
    with pytest.raises(FileNotFoundError):
        make_guard(tmp_path / "nope.yml")


def test_empty_phrase_list_fails_loudly(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text("version: x\nphrases: []\n")
    with pytest.raises(ValueError):
        make_guard(path)


def test_relative_path_is_resolved_from_the_repo_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # Rasa's working directory must not matter
    assert resolve_lexicon_path("lexicon/crisis.yml") == REPO / "lexicon/crisis.yml"
    assert resolve_lexicon_path(None) == REPO / "lexicon/crisis.yml"
    assert resolve_lexicon_path(str(tmp_path / "x.yml")) == tmp_path / "x.yml"


def test_lexicon_is_normalised_longest_first(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text("version: v\nphrases:\n  - Self-Harm\n  - self harm\n  - od\n")
    assert load_lexicon(path) == {"version": "v", "phrases": ["self harm", "od"]}
    assert find_phrase("an od and some self harm", ["self harm", "od"]) == "self harm"


def test_normalise():
    assert normalise("  I CAN\u2019T   go-on!! ") == "i cant go on"


@pytest.mark.parametrize(
    "text",
    ["i want to kill myself", "thinking of suicide", "took an overdose", "self harm",
     "I don't want to be here anymore"],
)
def test_project_lexicon_catches_contract_examples(monkeypatch, tmp_path, text):
    monkeypatch.chdir(tmp_path)
    guard = CrisisKeywordGuard.create({}, None, None, None)  # default path, from the repo root
    [message] = guard.process([classified(text)])
    assert message.get("intent")["name"] == "crisis"
