"""Known vulnerabilities in the lock files (`make audit`, the phase of `make test` after lint).

    python scripts/audit.py requirements/api.txt requirements/bot.txt

Runs pip-audit over each lock as written (`--no-deps --disable-pip`: the locks pin every package,
so nothing is resolved or installed, and the bot's Rasa 3.6 tree is audited from .venv-api).
First it asks, with a short timeout, whether a vulnerability service answers for a pinned
package: PyPI's JSON API (pip-audit's default) or else OSV. When neither does (an offline
machine, or a mirror that serves no per-release JSON), it says so in one line and exits 0,
since auditing nothing would look like a pass; HELPLINE_REQUIRE_AUDIT=1 makes that a failure.

Advisories that cannot be fixed (Rasa 3.6 pins its own stack) may be listed in
requirements/audit-ignore.txt, each with the reason it does not matter here.
HELPLINE_AUDIT_OSV_URL points the audit at another OSV endpoint (a mirror; the tests' fake) only.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE_FILE = ROOT / "requirements" / "audit-ignore.txt"
PROBE_SECONDS = 5.0
PYPI_RELEASE = "https://pypi.org/pypi/{name}/{version}/json"
OSV_QUERY = "https://api.osv.dev/v1/query"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)
_ADVISORY = re.compile(r"^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9:._-]*$")


class IgnoreFileError(ValueError):
    pass


def pins(text: str) -> list[tuple[str, str]]:
    return _PIN.findall(text)


def ignored(text: str) -> dict[str, str]:
    """{advisory id: reason} from the ignore file; an entry without its reason is refused."""
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        advisory, _, reason = line.partition(" ")
        if not _ADVISORY.match(advisory):
            raise IgnoreFileError(f"line {number}: {advisory!r} is not an advisory id (PYSEC-..., GHSA-..., CVE-...)")
        if len(reason.strip()) < 20:
            raise IgnoreFileError(f"line {number}: {advisory} needs the reason it does not matter here")
        entries[advisory] = reason.strip()
    return entries


def answers(request: urllib.request.Request, timeout: float = PROBE_SECONDS) -> bool:
    """True if the service answers 200 within the timeout."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def reachable_service(name: str, version: str, *, pypi: str | None = PYPI_RELEASE, osv: str = OSV_QUERY,
                      timeout: float = PROBE_SECONDS) -> str | None:
    """"pypi" or "osv", whichever answers for this pinned release first; None for neither."""
    if pypi and answers(urllib.request.Request(pypi.format(name=name, version=version)), timeout):
        return "pypi"
    query = json.dumps({"version": version, "package": {"name": name, "ecosystem": "PyPI"}}).encode()
    if answers(urllib.request.Request(osv, data=query, headers={"Content-Type": "application/json"}), timeout):
        return "osv"
    return None


def command(lock: str, service: str, ignore: Sequence[str], osv_url: str | None = None) -> list[str]:
    argv = [sys.executable, "-m", "pip_audit", "--requirement", lock, "--no-deps", "--disable-pip", "--strict",
            "--vulnerability-service", service, "--progress-spinner", "off", "--desc", "on"]
    if service == "osv" and osv_url:
        argv += ["--osv-url", osv_url]
    for advisory in ignore:
        argv += ["--ignore-vuln", advisory]
    return argv


def main(argv: Sequence[str] | None = None, *, probe: Callable[..., str | None] = reachable_service,
         run: Callable[[list[str]], int] = lambda args: subprocess.run(args, check=False).returncode) -> int:
    osv_url = os.environ.get("HELPLINE_AUDIT_OSV_URL") or None
    locks = list(argv if argv is not None else sys.argv[1:]) or ["requirements/api.txt", "requirements/bot.txt"]
    try:
        ignore = ignored(IGNORE_FILE.read_text()) if IGNORE_FILE.exists() else {}
    except IgnoreFileError as exc:
        print(f"audit: {IGNORE_FILE.relative_to(ROOT)}: {exc}")
        return 2
    first = next((pin for lock in locks for pin in pins(Path(lock).read_text())), None)
    service = (probe(*first, pypi=None, osv=osv_url) if osv_url else probe(*first)) if first else None
    if service is None:
        print(f"audit: skipped: no vulnerability service answered within {PROBE_SECONDS:g} s "
              "(PyPI's JSON API, OSV); nothing was checked"
              + (" and HELPLINE_REQUIRE_AUDIT=1 makes that a failure" if _required() else ""))
        return 1 if _required() else 0
    status = 0
    for lock in locks:
        count = len(pins(Path(lock).read_text()))
        print(f"audit: {lock} ({count} packages) against {service}"
              + (f", {len(ignore)} advisories ignored (requirements/audit-ignore.txt)" if ignore else ""), flush=True)
        status = max(status, run(command(lock, service, list(ignore), osv_url)))
    print("audit: no known vulnerabilities" if status == 0 else "audit: known vulnerabilities above")
    return status


def _required() -> bool:
    return os.environ.get("HELPLINE_REQUIRE_AUDIT") == "1"


if __name__ == "__main__":
    sys.exit(main())
