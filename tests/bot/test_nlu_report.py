"""The NLU report gate fails on a low F1 and on any missed crisis example."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "nlu_report.py"


@pytest.fixture(scope="module")
def nlu_report():
    spec = importlib.util.spec_from_file_location("nlu_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rasa_report(weighted_f1, crisis_support=4):
    row = {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": crisis_support}
    return {
        "crisis": row,
        "greet": {**row, "support": 5},
        "accuracy": 0.95,
        "macro avg": {"f1-score": weighted_f1},
        "weighted avg": {"f1-score": weighted_f1},
    }


def missed_crisis(text="i cant go on"):
    return {"text": text, "intent": "crisis", "intent_prediction": {"name": "inform", "confidence": 0.6}}


def test_passes_when_f1_high_and_every_crisis_caught(nlu_report):
    summary = nlu_report.summarise(rasa_report(0.93), [])
    assert summary["crisis_recall"] == 1.0
    assert nlu_report.verdict(summary, 0.90) == []
    assert "Gate: PASS" in nlu_report.render(summary, "m", "t", [], 1.0, {"RegexEntityExtractor": {"case_ref": 1.0}})


def test_fails_on_low_weighted_f1(nlu_report):
    summary = nlu_report.summarise(rasa_report(0.89), [])
    assert nlu_report.verdict(summary, 0.90) == ["weighted intent F1 0.890 < 0.90"]


def test_fails_on_one_missed_crisis_even_with_high_f1(nlu_report):
    other_error = {"text": "hiya", "intent": "greet", "intent_prediction": {"name": "inform"}}
    summary = nlu_report.summarise(rasa_report(0.99), [missed_crisis(), other_error])
    assert summary["crisis_recall"] == 0.75
    assert nlu_report.verdict(summary, 0.90) == ["1 crisis example(s) not predicted crisis"]
    text = nlu_report.render(summary, "m", "t", ["x"], None)
    assert "`i cant go on` -> inform" in text and "Gate: FAIL" in text


def test_fails_without_crisis_examples(nlu_report):
    summary = nlu_report.summarise(rasa_report(0.99, crisis_support=0), [])
    assert "no crisis examples in the test split" in nlu_report.verdict(summary, 0.90)


def test_entity_scores_only_for_labels_the_extractor_produces(nlu_report):
    report = {
        "case_ref": {"precision": 1.0, "f1-score": 0.9},
        "device": {"precision": 0.0, "f1-score": 0.0},
        "no_entity": {"precision": 1.0, "f1-score": 1.0},
        "weighted avg": {"precision": 0.2, "f1-score": 0.2},
    }
    assert nlu_report.extracted_labels_f1(report) == {"case_ref": 0.9}
