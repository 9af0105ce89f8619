"""Training and held-out NLU data agree with the contract and never overlap."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

REPO = Path(__file__).resolve().parents[2]
MIN_TRAINING_EXAMPLES = 15


def contract_vocabulary():
    """Intents and manager_faq topics as listed in docs/contract.md (the source of truth)."""
    text = (REPO / "docs/contract.md").read_text(encoding="utf-8")
    section = text.split("Intents (add one only", 1)[1].split("Entities (", 1)[0]
    intents = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M))
    topics_text = section.split("`manager_faq/<topic>` topics:", 1)[1]
    topics = set(re.findall(r"`([a-z_]+)`", topics_text))
    return intents, topics


def key(text: str) -> str:
    """Compare examples ignoring case, punctuation and spacing."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def intent_of(example):
    """Full name for retrieval intents (manager_faq/sick_pay), plain otherwise."""
    return example.get_full_intent()


@pytest.fixture(scope="module")
def train():
    return load_data(str(REPO / "data/nlu")).intent_examples


@pytest.fixture(scope="module")
def test():
    return load_data(str(REPO / "tests/nlu/test_nlu.yml")).intent_examples


def expected_names():
    intents, topics = contract_vocabulary()
    return (intents - {"manager_faq"}) | {f"manager_faq/{t}" for t in topics}


def test_contract_parses():
    intents, topics = contract_vocabulary()
    assert {"greet", "crisis", "manager_faq", "rate"} <= intents and len(intents) == 26
    assert {"sick_pay", "confidentiality_consent"} <= topics and len(topics) == 15


def test_training_covers_exactly_the_contract(train):
    assert {intent_of(e) for e in train} == expected_names()


def test_test_split_covers_exactly_the_contract(test):
    assert {intent_of(e) for e in test} == expected_names()


def test_enough_training_examples_per_intent_and_topic(train):
    counts = Counter(intent_of(e) for e in train)
    thin = {name: n for name, n in counts.items() if n < MIN_TRAINING_EXAMPLES}
    assert not thin, f"fewer than {MIN_TRAINING_EXAMPLES} examples: {thin}"


def test_no_test_example_is_in_training(train, test):
    seen = {key(e.get("text")) for e in train}
    leaked = sorted(e.get("text") for e in test if key(e.get("text")) in seen)
    assert not leaked, leaked


def test_no_example_is_given_two_intents(train):
    labels = {}
    for e in train:
        labels.setdefault(key(e.get("text")), set()).add(intent_of(e))
    clashes = {k: v for k, v in labels.items() if len(v) > 1}
    assert not clashes, clashes


def test_every_faq_topic_has_an_answer_with_a_source():
    _, topics = contract_vocabulary()
    data = yaml.safe_load((REPO / "data/responses/manager_faq.yml").read_text(encoding="utf-8"))
    responses = data["responses"]
    assert set(responses) == {f"utter_manager_faq/{t}" for t in topics}
    for name, variants in responses.items():
        assert "Source:" in variants[0]["text"], name


def test_sick_pay_answer_does_not_hard_code_a_rate():
    text = (REPO / "data/responses/manager_faq.yml").read_text(encoding="utf-8")
    assert "£" not in text
