"""Adds --hash lines to a `pip freeze` lock from the package index's own digests, so the bot's
environment installs with --require-hashes like the API's (pip-compile would resolve Rasa's whole
tree again; the freeze is already the exact set).

    python scripts/hash_lock.py requirements/bot.txt [--index URL ...]

Each `name==version` gets the sha256 of every file the indexes offer for that version (every
wheel and the sdist on every index pip uses, as pip-compile --generate-hashes does), read from
the `#sha256=` fragments of the simple (PEP 503) index pages, local (file://) or remote. Exits 1
naming any package with no digest, and leaves the file unchanged.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_LINK = re.compile(r'href="([^"#]+)#sha256=([0-9a-f]{64})"')


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_indexes() -> list[str]:
    """The indexes pip itself is configured with (pip config), PyPI last."""
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], check=False, capture_output=True,
                         text=True).stdout
    urls: list[str] = []
    for line in out.splitlines():
        if re.search(r"\.(extra-)?index-url=", line):
            urls += line.split("=", 1)[1].strip("'\" ").split()
    return urls + ["https://pypi.org/simple"]


def page(index: str, name: str) -> str:
    url = f"{index.rstrip('/')}/{normalise(name)}/"
    try:
        if url.startswith("file://"):
            path = Path(url[len("file://"):]) / "index.html"
            return path.read_text(encoding="utf-8") if path.exists() else ""
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.read().decode("utf-8", "replace")
    except OSError:
        return ""


def digests(name: str, version: str, indexes: list[str]) -> list[str]:
    stem = "[-_.]".join(re.escape(part) for part in normalise(name).split("-"))
    wanted = re.compile(rf"^{stem}-{re.escape(version)}[-.]", re.I)
    found: list[str] = []
    for index in indexes:
        for href, digest in _LINK.findall(page(index, name)):
            filename = href.rsplit("/", 1)[-1]
            if wanted.match(filename) and digest not in found:
                found.append(digest)
    return found  # every index's files: a mirror may hold other builds than PyPI


def hashed(text: str, indexes: list[str]) -> tuple[str, list[str]]:
    lines, missing = [], []
    for raw in text.splitlines():
        line = raw.split(" \\")[0].rstrip()
        if line.lstrip().startswith("--hash="):
            continue  # hashed before: made again
        match = _PIN.match(line)
        if not match:
            lines.append(line)
            continue
        found = digests(match.group(1), match.group(2), indexes)
        if not found:
            missing.append(line)
            lines.append(line)
            continue
        lines.append(line + " \\")
        lines += [f"    --hash=sha256:{d}" + (" \\" if i < len(found) - 1 else "") for i, d in enumerate(found)]
    return "\n".join(lines) + "\n", missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lock", type=Path)
    parser.add_argument("--index", action="append", help="a simple index URL (default: pip's, then PyPI)")
    args = parser.parse_args()
    text, missing = hashed(args.lock.read_text(encoding="utf-8"), args.index or pip_indexes())
    if missing:
        print("no digest on any index for:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    args.lock.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
