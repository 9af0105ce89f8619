"""scripts/audit.py: pip-audit over the lock files, or one clear line when no service answers.
No network: the services are fakes on loopback."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scripts import audit

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def fake_service(vulnerable: dict[str, dict] | None = None, status: int = 200):
    """An OSV-like /v1/query (and a PyPI-like GET) on a free loopback port."""
    vulnerable = vulnerable or {}
    asked: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._answer(status, {})

        def do_POST(self):
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append(query)
            vuln = vulnerable.get(query["package"]["name"])
            self._answer(status, {"vulns": [vuln]} if vuln else {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_the_repository_ignore_file_is_valid():
    entries = audit.ignored(audit.IGNORE_FILE.read_text())
    assert all(len(reason) >= 20 for reason in entries.values())


def test_an_ignored_advisory_needs_its_reason():
    assert audit.ignored("GHSA-abcd-efgh-ijkl  sanic: only the API on loopback reaches it\n") == {
        "GHSA-abcd-efgh-ijkl": "sanic: only the API on loopback reaches it"}
    with pytest.raises(audit.IgnoreFileError, match="needs the reason"):
        audit.ignored("PYSEC-2024-1\n")
    with pytest.raises(audit.IgnoreFileError, match="not an advisory id"):
        audit.ignored("tensorflow  because it is old and we cannot upgrade it\n")


def test_both_lock_files_are_fully_pinned():
    for lock in ("requirements/api.txt", "requirements/bot.txt"):
        text = (ROOT / lock).read_text()
        pinned = audit.pins(text)
        assert len(pinned) > 50
        requirement_lines = [line for line in text.splitlines() if line and line[0].isalnum()]
        assert len(requirement_lines) == len(pinned), lock


def test_the_api_lock_is_hashed_and_holds_no_test_tools():
    prod = (ROOT / "requirements/api.txt").read_text()
    names = {name.lower().replace("_", "-") for name, _ in audit.pins(prod)}
    assert not names & {"pytest", "hypothesis", "schemathesis", "playwright", "ruff", "import-linter", "pip-audit",
                        "respx", "time-machine", "pytest-xdist"}
    for name, version in audit.pins(prod):
        after = prod.split(f"{name}=={version}", 1)[1]
        assert after.lstrip(" \\\n").startswith("--hash=sha256:"), name
    dev = (ROOT / "requirements/api-dev.txt").read_text()
    assert "-r api.txt" in dev.splitlines()
    dev_names = {name.lower().replace("_", "-") for name, _ in audit.pins(dev)}
    assert {"pytest", "pip-audit", "ruff", "playwright"} <= dev_names and not dev_names & names


def test_unreachable_services_skip_with_one_line(capsys, monkeypatch):
    monkeypatch.delenv("HELPLINE_REQUIRE_AUDIT", raising=False)
    ran: list = []
    status = audit.main(["requirements/api.txt"], probe=lambda *a, **k: None, run=ran.append)
    out = capsys.readouterr().out.strip().splitlines()
    assert status == 0 and not ran
    assert len(out) == 1 and out[0].startswith("audit: skipped: no vulnerability service answered")


def test_ci_may_require_the_audit(capsys, monkeypatch):
    monkeypatch.setenv("HELPLINE_REQUIRE_AUDIT", "1")
    assert audit.main(["requirements/api.txt"], probe=lambda *a, **k: None, run=lambda argv: 0) == 1


def test_the_probe_needs_a_200_from_a_service():
    with fake_service(status=404) as (url, _):
        assert audit.reachable_service("jinja2", "3.1.6", pypi=url + "/pypi/{name}/{version}/json",
                                       osv=url + "/v1/query", timeout=2) is None
    with fake_service() as (url, asked):
        assert audit.reachable_service("jinja2", "3.1.6", pypi=None, osv=url + "/v1/query", timeout=2) == "osv"
        assert asked == [{"version": "3.1.6", "package": {"name": "jinja2", "ecosystem": "PyPI"}}]
        assert audit.reachable_service("jinja2", "3.1.6", pypi=url + "/pypi/{name}/{version}/json",
                                       osv=url + "/v1/query", timeout=2) == "pypi"
    assert audit.reachable_service("jinja2", "3.1.6", pypi="http://127.0.0.1:9/{name}/{version}",
                                   osv="http://127.0.0.1:9/v1/query", timeout=2) is None


def test_each_lock_is_audited_as_written_with_the_ignored_advisories(monkeypatch, capsys):
    monkeypatch.setattr(audit, "IGNORE_FILE", ROOT / "requirements" / "audit-ignore.txt")
    monkeypatch.setattr(audit, "ignored", lambda text: {"GHSA-aaaa-bbbb-cccc": "a reason long enough here"})
    runs: list[list[str]] = []
    status = audit.main(["requirements/api.txt", "requirements/bot.txt"], probe=lambda *a, **k: "pypi",
                        run=lambda argv: runs.append(argv) or 0)
    assert status == 0 and [argv[argv.index("--requirement") + 1] for argv in runs] == [
        "requirements/api.txt", "requirements/bot.txt"]
    for argv in runs:
        assert {"--no-deps", "--disable-pip", "--strict"} <= set(argv)
        assert argv[argv.index("--ignore-vuln") + 1] == "GHSA-aaaa-bbbb-cccc"
        assert argv[argv.index("--vulnerability-service") + 1] == "pypi"


VULN = {"id": "GHSA-test-fake-0001", "summary": "a made-up advisory for the test",
        "affected": [{"package": {"name": "jinja2", "ecosystem": "PyPI"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}]}]}


def _audit_with_fake_osv(tmp_path: Path, url: str, ignore: str = "") -> subprocess.CompletedProcess:
    lock = tmp_path / "lock.txt"
    lock.write_text("jinja2==3.1.6\nmarkupsafe==3.0.4\n")
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from pathlib import Path; from scripts import audit; "
              f"audit.IGNORE_FILE = Path({str(tmp_path / 'ignore.txt')!r}); sys.exit(audit.main([{str(lock)!r}]))")
    (tmp_path / "ignore.txt").write_text(ignore)
    env = {**os.environ, "HELPLINE_AUDIT_OSV_URL": url + "/v1/query", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_pip_audit_fails_on_a_known_vulnerability_and_passes_when_it_is_ignored(tmp_path):
    with fake_service({"jinja2": VULN}) as (url, asked):
        found = _audit_with_fake_osv(tmp_path, url)
        assert found.returncode != 0, found.stdout + found.stderr
        assert "GHSA-test-fake-0001" in found.stdout and "jinja2" in found.stdout
        assert {q["package"]["name"] for q in asked} >= {"jinja2", "markupsafe"}
        waived = _audit_with_fake_osv(tmp_path, url, "GHSA-test-fake-0001  the test's own made-up advisory\n")
        assert waived.returncode == 0, waived.stdout + waived.stderr
        assert "audit: no known vulnerabilities" in waived.stdout
