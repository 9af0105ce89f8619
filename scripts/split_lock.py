"""Makes the compiled developer lock refer to the production lock instead of repeating it.

`make lock-api` compiles requirements/api-dev.txt from api-dev.in (every package, hashed, the
production ones held to api.txt's versions by `-c api.txt`), then runs

    python scripts/split_lock.py requirements/api-dev.txt requirements/api.txt

which drops from the developer lock each package api.txt already pins and puts `-r api.txt` at
its top: a developer's .venv-api is the production set plus the test tools, in one place each.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def _name(line: str) -> str | None:
    match = _PIN.match(line)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else None


def pinned(text: str) -> set[str]:
    return {name for line in text.splitlines() if (name := _name(line))}


def split(dev_text: str, prod_text: str, prod_file: str) -> str:
    """dev_text without the blocks (pin, hashes, "# via" lines) of packages prod_text pins."""
    in_prod = pinned(prod_text)
    out: list[str] = []
    dropping = False
    for line in dev_text.splitlines():
        name = _name(line)
        if name is not None:
            dropping = name in in_prod
        elif not line.startswith((" ", "\t")):
            dropping = False  # a top-level comment or blank line ends a block
        if not dropping:
            out.append(line)
    body = [line for line in out if line.strip() != f"-r {prod_file}"]
    first_pin = next((i for i, line in enumerate(body) if _name(line)), len(body))
    return "\n".join([*body[:first_pin], f"-r {prod_file}", *body[first_pin:]]) + "\n"


def main(dev: str, prod: str) -> int:
    dev_path, prod_path = Path(dev), Path(prod)
    relative = prod_path.resolve().relative_to(dev_path.resolve().parent)
    dev_path.write_text(split(dev_path.read_text(), prod_path.read_text(), str(relative)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
