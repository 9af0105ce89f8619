"""Evaluate the NLU model on the held-out split and gate on the results.

    .venv-bot/bin/python scripts/nlu_report.py --train     # train NLU-only into a temp dir
    .venv-bot/bin/python scripts/nlu_report.py             # use the newest models/*.tar.gz
    .venv-bot/bin/python scripts/nlu_report.py --model models/x.tar.gz

Runs `rasa test nlu --nlu tests/nlu/test_nlu.yml`, writes reports/nlu/report.md
and exits 1 unless weighted intent F1 >= --min-f1 (0.90) and every crisis
example in the test split is predicted `crisis` (a missed crisis is the one
error this bot must not make). Run from the repo root with the bot venv.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

CRISIS = "crisis"
# Keys in rasa's intent_report.json that are summaries, not intents.
SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


def rasa(*args: str) -> None:
    """Run a rasa CLI command with this interpreter; fail loudly on error."""
    cmd = [sys.executable, "-m", "rasa", *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def latest_model(models_dir: Path) -> Path:
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"no model in {models_dir}: train one or pass --train")
    return models[-1]


def train_nlu(config: Path, data: Path, out_dir: Path) -> Path:
    rasa("train", "nlu", "--config", str(config), "--nlu", str(data),
         "--out", str(out_dir), "--fixed-model-name", "nlu")
    return out_dir / "nlu.tar.gz"


def crisis_misses(errors: List[dict]) -> List[dict]:
    """Test examples labelled crisis that the model predicted as something else."""
    return [e for e in errors if e.get("intent") == CRISIS]


def summarise(report: Dict[str, dict], errors: List[dict]) -> dict:
    intents = {k: v for k, v in report.items() if k not in SUMMARY_KEYS}
    crisis = intents.get(CRISIS, {})
    support = int(crisis.get("support", 0))
    missed = crisis_misses(errors)
    return {
        "intents": intents,
        "macro_f1": report["macro avg"]["f1-score"],
        "weighted_f1": report["weighted avg"]["f1-score"],
        "accuracy": report.get("accuracy"),
        "crisis_support": support,
        "crisis_missed": missed,
        "crisis_recall": (support - len(missed)) / support if support else 0.0,
    }


def extracted_labels_f1(entity_report: Dict[str, dict]) -> Dict[str, float]:
    """F1 per entity label that this extractor actually produces.

    rasa scores every extractor against every annotated label, so the regex
    extractor shows 0 for `device` (the spaCy ruler's job); those are left out.
    """
    return {
        label: row["f1-score"]
        for label, row in sorted(entity_report.items())
        if label not in SUMMARY_KEYS and label != "no_entity" and row.get("precision", 0) > 0
    }


def verdict(summary: dict, min_f1: float) -> List[str]:
    """Reasons the gate fails; empty when it passes."""
    problems = []
    if summary["weighted_f1"] < min_f1:
        problems.append(f"weighted intent F1 {summary['weighted_f1']:.3f} < {min_f1:.2f}")
    if summary["crisis_support"] == 0:
        problems.append("no crisis examples in the test split")
    if summary["crisis_missed"]:
        problems.append(f"{len(summary['crisis_missed'])} crisis example(s) not predicted crisis")
    return problems


def render(summary: dict, model: str, test_file: str, problems: List[str],
           response_acc: Optional[float], entity_f1: Optional[Dict[str, Dict[str, float]]] = None) -> str:
    lines = [
        "# NLU report (held-out split)",
        "",
        f"- model: `{model}`",
        f"- test data: `{test_file}`",
        f"- weighted intent F1: **{summary['weighted_f1']:.3f}**",
        f"- macro intent F1: **{summary['macro_f1']:.3f}**",
        f"- intent accuracy: {summary['accuracy'] or 0:.3f}",
        f"- crisis recall: **{summary['crisis_recall']:.3f}** "
        f"({summary['crisis_support'] - len(summary['crisis_missed'])}/{summary['crisis_support']})",
    ]
    if response_acc is not None:
        lines.append(f"- manager_faq response selection accuracy: {response_acc:.3f}")
    # rasa evaluates trainable and regex extractors only; the spaCy entity ruler
    # is covered by tests/bot/test_pipeline.py.
    for extractor, labels in (entity_f1 or {}).items():
        scores = ", ".join(f"{label} {f1:.2f}" for label, f1 in labels.items()) or "none"
        lines.append(f"- {extractor} entity F1: {scores}")
    lines += ["", f"**Gate: {'PASS' if not problems else 'FAIL: ' + '; '.join(problems)}**", "",
              "| intent | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for name, row in sorted(summary["intents"].items()):
        lines.append(f"| {name} | {row['precision']:.2f} | {row['recall']:.2f} | "
                     f"{row['f1-score']:.2f} | {row['support']} |")
    if summary["crisis_missed"]:
        lines += ["", "## Missed crisis examples", ""]
        lines += [f"- `{e['text']}` -> {e['intent_prediction']['name']}" for e in summary["crisis_missed"]]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Held-out NLU evaluation with a pass/fail gate")
    parser.add_argument("--train", action="store_true", help="train an NLU-only model first")
    parser.add_argument("--model", type=Path, help="model archive (default: newest in models/)")
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--test", type=Path, default=Path("tests/nlu/test_nlu.yml"))
    parser.add_argument("--out", type=Path, default=Path("reports/nlu"))
    parser.add_argument("--min-f1", type=float, default=0.90)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nlu-report-") as tmp:
        tmp_dir = Path(tmp)
        if args.train:
            model = train_nlu(args.config, args.data, tmp_dir / "model")
        else:
            model = args.model or latest_model(Path("models"))
        results = tmp_dir / "results"
        rasa("test", "nlu", "--model", str(model), "--nlu", str(args.test),
             "--out", str(results), "--no-plot")
        report = json.loads((results / "intent_report.json").read_text())
        errors_file = results / "intent_errors.json"
        errors = json.loads(errors_file.read_text()) if errors_file.exists() else []
        rs_file = results / "response_selection_report.json"
        response_acc = json.loads(rs_file.read_text()).get("accuracy") if rs_file.exists() else None

        entity_f1 = {
            f.name[: -len("_report.json")]: extracted_labels_f1(json.loads(f.read_text()))
            for f in sorted(results.glob("*Extractor_report.json"))
        }
        summary = summarise(report, errors)
        problems = verdict(summary, args.min_f1)
        args.out.mkdir(parents=True, exist_ok=True)
        text = render(summary, "trained now (--train)" if args.train else str(model),
                      str(args.test), problems, response_acc, entity_f1)
        (args.out / "report.md").write_text(text, encoding="utf-8")
        # Keep rasa's raw files next to the summary for digging into errors.
        keep = ["intent_report.json", "intent_errors.json", "response_selection_report.json"]
        keep += [f.name for f in results.glob("*Extractor_*.json")]
        for name in keep:
            if (results / name).exists():
                (args.out / name).write_text((results / name).read_text(), encoding="utf-8")
    print(text)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
