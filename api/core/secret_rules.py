"""What a production secret must be: long, not guessable, and not published in this repository.

The published values are read from the repository's example files when settings are validated,
never copied here: a value added to an example file tomorrow is refused without a code change.
A production install without those files (an image of the code only) gets the other checks.
"""
from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

MIN_LENGTH = 32
# Bits estimated as length x the value's own Shannon entropy per character. A random 32-digit
# hex value (Twilio's auth token, the weakest real secret we must accept) scores 116 on average;
# in 10 million random draws none scored under 85, so 80 refuses a genuine token with
# probability well under 1 in 10 million, while "passwordpassword..." (88) falls to the
# distinct-character rule and a long run of one character (0) to this one.
MIN_BITS = 80.0
# A random value uses most of its alphabet; a typed one uses few characters. The bar is half the
# alphabet the value seems to draw from, at most 10, so that a random value is refused with
# probability below 1e-7 (exactly, from Stirling numbers): 32 hex digits have fewer than 8
# distinct 3.6e-8 of the time, 32 characters of [a-z] fewer than 10 4.6e-9, 43 URL-safe
# base64 characters (scripts/make_env.py) fewer than 10 6e-27.
MAX_DISTINCT_BAR = 10

# Where example files are looked for: the repository, without virtualenvs, caches, data and models.
_SKIP_DIRS = {"node_modules", "__pycache__", "var", "models", "site-packages", "reports"}
_EXAMPLE_NAME = re.compile(r"example|sample", re.IGNORECASE)
# Example files hold settings (.env.example, compose samples); code, pages and data are not read.
_NOT_SETTINGS = {".py", ".pyc", ".md", ".rst", ".json", ".html", ".js", ".css", ".csv", ".png", ".jpg",
                 ".svg", ".gz", ".zip", ".wav", ".mp3", ".txt"}
# KEY=value, export KEY=value, "- KEY=value" (compose lists) and KEY: value (compose maps).
_ASSIGNMENT = re.compile(r"^\s*(?:-\s*)?(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*[=:]\s*(.*?)\s*$")
_SECRET_KEY = re.compile(r"token|secret|password|passwd|pass|key|sid|credential", re.IGNORECASE)
# A published secret found inside a longer value still gives it away ("CHANGE-ME-" + anything);
# shorter published values are only refused when equal (a random token may contain "dev").
_MIN_CONTAINED = 8


@dataclass(frozen=True)
class Published:
    """Values anyone can read in the repository's example files, lower-cased, with where from."""

    values: Mapping[str, str] = field(default_factory=dict)   # every assigned value -> file
    secrets: Mapping[str, str] = field(default_factory=dict)  # values of secret-like keys -> file

    def source(self, value: str) -> str | None:
        lowered = value.lower()
        if lowered in self.values:
            return self.values[lowered]
        return next((where for secret, where in self.secrets.items()
                     if len(secret) >= _MIN_CONTAINED and secret in lowered), None)


def example_files(root: Path) -> list[Path]:
    """Settings files whose name says example or sample, anywhere under root (dot-folders,
    virtualenvs and data left out)."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            if _EXAMPLE_NAME.search(name) and path.suffix.lower() not in _NOT_SETTINGS:
                found.append(path)
    return found


def _clean(raw: str) -> str:
    value = raw
    if value[:1] in "\"'" and value[-1:] == value[:1] and len(value) >= 2:
        return value[1:-1]
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def assignments(text: str) -> Iterable[tuple[str, str]]:
    """(key, value) of each non-empty assignment in an env or compose file; a URL's password too."""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if not match:
            continue
        key, value = match.group(1), _clean(match.group(2))
        if not value:
            continue
        yield key, value
        if "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                yield f"{key} (password)", password


def published(root: Path) -> Published:
    values: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for path in example_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        where = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        for key, value in assignments(text):
            values.setdefault(value.lower(), where)
            if _SECRET_KEY.search(key):
                secrets.setdefault(value.lower(), where)
    return Published(values, secrets)


def estimated_bits(value: str) -> float:
    """Length times the value's own Shannon entropy per character: a rough upper bound on how
    hard it is to guess, which is all a check at start-up can know."""
    if not value:
        return 0.0
    n = len(value)
    return -n * sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _distinct_bar(value: str) -> int:
    if value.isdigit():
        alphabet = 10
    elif re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", value):
        alphabet = 16
    else:
        alphabet = 26
    return min(MAX_DISTINCT_BAR, alphabet // 2)


def _repeats_a_block(value: str) -> bool:
    """"abcabcabc...": one short block repeated, however varied the block."""
    n = len(value)
    return any(n % p == 0 and value == value[:p] * (n // p) for p in range(1, n // 2 + 1))


def weakness(value: str, examples: Published, placeholders: Iterable[str] = ()) -> str | None:
    """Why this value is no production secret, or None. Never quotes the value."""
    if not value:
        return "missing"
    if value.lower() in {p.lower() for p in placeholders}:
        return "a placeholder"
    source = examples.source(value)
    if source:
        return f"a value published in {source}"
    if len(value) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if len(set(value)) < _distinct_bar(value):
        return "too few distinct characters"
    if _repeats_a_block(value) or estimated_bits(value) < MIN_BITS:
        return "too predictable (low entropy)"
    return None
