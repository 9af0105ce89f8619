"""Fetch axe-core from the npm registry into tests/browser/vendor/axe-core, checked against the
registry's published integrity hash, so the accessibility tests run offline and always with the
same rules. Run it only to move to another axe-core version (then update VERSION and INTEGRITY
from `npm view axe-core@<version> dist.integrity`, and SHA256 in tests/browser/axe.py).

    .venv-api/bin/python scripts/vendor_axe.py
"""
from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.14.1"
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
DEST = Path(__file__).resolve().parents[1] / "tests" / "browser" / "vendor" / "axe-core"
FILES = {"package/axe.min.js": "axe.min.js", "package/LICENSE": "LICENSE"}


def main() -> int:
    with urllib.request.urlopen(TARBALL, timeout=60) as response:
        data = response.read()
    algorithm, _, expected = INTEGRITY.partition("-")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        print(f"axe-core {VERSION}: the tarball does not match the registry's integrity hash", file=sys.stderr)
        return 1
    DEST.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member, name in FILES.items():
            (DEST / name).write_bytes(tar.extractfile(member).read())
    print(f"axe-core {VERSION} -> {DEST} (sha256 of axe.min.js: "
          f"{hashlib.sha256((DEST / 'axe.min.js').read_bytes()).hexdigest()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
