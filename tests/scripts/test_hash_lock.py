"""scripts/hash_lock.py: a freeze lock gets every index's digests for each exact version."""
from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("hash_lock", REPO / "scripts" / "hash_lock.py")
hash_lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hash_lock)

A, B, C = "a" * 64, "b" * 64, "c" * 64


def index(root: Path, name: str, links: dict[str, str]) -> str:
    folder = root / name
    folder.mkdir(parents=True)
    body = "".join(f'<a href="../../files/{f}#sha256={d}">{f}</a>\n' for f, d in links.items())
    (folder / "index.html").write_text(f"<html><body>{body}</body></html>")
    return f"file://{root}"


def test_every_file_of_the_pinned_version_on_every_index(tmp_path):
    one = index(tmp_path / "one", "ruamel-yaml", {"ruamel.yaml-0.17.21-py3-none-any.whl": A,
                                                  "ruamel.yaml-0.17.22-py3-none-any.whl": C})
    two = index(tmp_path / "two", "ruamel-yaml", {"ruamel.yaml-0.17.21.tar.gz": B})
    text, missing = hash_lock.hashed("# a comment\nruamel.yaml==0.17.21\n", [one, two])
    assert missing == []
    assert text == (f"# a comment\nruamel.yaml==0.17.21 \\\n    --hash=sha256:{A} \\\n    --hash=sha256:{B}\n")


def test_hashing_again_replaces_the_old_hashes_and_a_missing_package_is_named(tmp_path):
    one = index(tmp_path / "one", "absl-py", {"absl_py-1.4.0-py3-none-any.whl": A})
    text, missing = hash_lock.hashed(f"absl-py==1.4.0 \\\n    --hash=sha256:{C}\nnowhere==1.0\n", [one])
    assert text.startswith(f"absl-py==1.4.0 \\\n    --hash=sha256:{A}\n") and C not in text
    assert missing == ["nowhere==1.0"]
