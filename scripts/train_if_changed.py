"""Train the Rasa model only when what it is built from has changed.

The fingerprint is a hash of config, domain, training data, the crisis lexicon, the custom
components and the language pipeline's sources, kept next to the model. A second
`make run` with nothing changed starts in seconds.

Every target that needs the model (run, stories, faults, nlu, bench) calls this, so it holds
a lock next to the model while it checks and trains: two callers at once (two make targets
in parallel, two people on one checkout) train once, and the second finds the model current.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import subprocess
import sys
from pathlib import Path

INPUTS = ["config.yml", "domain.yml", "data", "lexicon", "bot/components", "bot/patterns", "bot/build_pipeline.py",
          "requirements/bot.txt"]


def fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.exists() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(root)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="models/helpline.tar.gz")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    root = Path.cwd()
    model = Path(args.model)
    stamp = model.with_suffix("").with_suffix(".fingerprint")
    model.parent.mkdir(parents=True, exist_ok=True)
    with open(model.with_suffix("").with_suffix(".lock"), "w") as lock:
        try:  # released when the file closes (or the process dies)
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another check or training of {model} to finish", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        current = fingerprint(root)
        if not args.force and model.exists() and stamp.exists() and stamp.read_text().strip() == current:
            print(f"model {model} is up to date")
            return 0
        print(f"training {model} (inputs changed)")
        rasa = Path(sys.executable).with_name("rasa")
        result = subprocess.run([str(rasa), "train", "--config", "config.yml", "--domain", "domain.yml",
                                 "--data", "data", "--out", str(model.parent),
                                 "--fixed-model-name", model.name.removesuffix(".tar.gz")], check=False)
        if result.returncode != 0:
            return result.returncode
        stamp.write_text(current + "\n")
        return 0


if __name__ == "__main__":
    sys.exit(main())
