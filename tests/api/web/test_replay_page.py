"""/rules/replay: the clinical lead uploads (or pastes) a candidate rule file and reads what it would
change on past cases; practitioners and everyone else are refused; a bad file's problem names its
line in the error summary."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from api.triage.ruleset import RULES_DIR, available_versions
from tests.api.factories import HIV_NEEDLESTICK
from tests.api.web.conftest import token_of

LIVE = available_versions("sharps")[-1]
SHARPS = (RULES_DIR / f"{LIVE}.yaml").read_text(encoding="utf-8")
MANAGER = (RULES_DIR / f"{available_versions('manager')[-1]}.yaml").read_text(encoding="utf-8")


def weakened() -> str:
    """Without hiv_pep, and with a new version: a possible HIV exposure is no longer an emergency."""
    start, end = SHARPS.index("  - id: hiv_pep\n"), SHARPS.index("  - id: hiv_pep_window_closed\n")
    return (SHARPS[:start] + SHARPS[end:]).replace(f"version: {LIVE}\n", "version: sharps-2099.1.1\n")


@pytest.fixture
def cases(client, world, clock) -> dict[str, str]:
    def open_(answers: dict) -> str:
        r = client.post("/api/cases", json={"line": "sharps", "answers": answers})
        assert r.status_code == 201, r.text
        return r.json()["ref"]

    return {
        "hiv": open_({**HIV_NEEDLESTICK, "occurred_at": (clock.now - timedelta(minutes=30)).isoformat()}),
        "intact": open_({"exposure_type": "intact_skin"}),
    }


def _post(browser, *, line: str | None = "sharps", text: str = "", file: tuple[str, bytes] | None = None,
          csrf: bool = True):
    data = {"rules_text": text}
    if line is not None:
        data["line"] = line
    if csrf:
        data["csrf_token"] = token_of(browser, "/rules/replay")
    files = {"rules_file": file if file else ("", b"", "application/octet-stream")}
    return browser.post("/rules/replay", data=data, files=files)


def _summary(page: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert match, "no error summary"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))))


def test_the_lead_sees_the_page_and_the_nav_link(browser_for):
    lead = browser_for("lead")
    r = lead.get("/rules/replay")
    assert r.status_code == 200
    assert "Try a rule file on past cases" in r.text and 'type="file"' in r.text
    assert 'href="/rules/replay" aria-current="page"' in r.text
    assert 'href="/rules/replay"' not in browser_for("practitioner").get("/dashboard").text


@pytest.mark.parametrize("role", ["practitioner", "admin", "manager"])
def test_everyone_else_is_refused_with_a_clear_message(browser_for, role):
    browser = browser_for(role)
    r = browser.get("/rules/replay")
    assert r.status_code == 403 and "for clinical leads" in r.text
    token = token_of(browser, "/rota" if role != "manager" else "/referrals")
    r = browser.post("/rules/replay", data={"csrf_token": token, "line": "sharps", "rules_text": SHARPS})
    assert r.status_code == 403 and "for clinical leads" in r.text


def test_an_uploaded_weakened_file_shows_the_cases_that_would_move_down(browser_for, cases):
    r = _post(browser_for("lead"), file=("sharps-2099.1.1.yaml", weakened().encode(), "application/x-yaml"))
    assert r.status_code == 200, r.text[:2000]
    assert f"sharps-2099.1.1 against the live {LIVE}" in r.text
    table = r.text[r.text.index('id="changed"'):]
    assert f'href="/cases/{cases["hiv"]}"' in table and cases["intact"] not in table
    assert "moves down: examine" in table and "hiv_pep" in table
    kpi = re.search(r"Would move down</span><span class=\"kpi-value\">(\d+)", r.text)
    assert kpi and kpi.group(1) == "1"
    assert "2 past sharps cases replayed" in r.text


def test_pasting_the_live_file_shows_no_change(browser_for, cases):
    r = _post(browser_for("lead"), text=SHARPS)
    assert r.status_code == 200
    assert 'id="no-change"' in r.text and "already a released version" in r.text


def test_a_bad_file_names_its_line_in_the_error_summary(browser_for, cases):
    text = SHARPS.replace("    tier: emergency\n", "    tier: critical\n")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "tier: critical" in t)
    r = _post(browser_for("lead"), file=("candidate.yaml", text.encode(), "application/x-yaml"))
    assert r.status_code == 400
    summary = _summary(r.text)
    assert f"Line {line}: rule #2 (hiv_pep): unknown tier 'critical'" in summary
    assert 'href="#rules_text"' in r.text and 'aria-invalid="true"' in r.text
    assert re.search(rf"{line} &gt;\s+tier: critical", r.text)  # the line itself, shown under the message
    assert "tier: critical" in r.text[r.text.index("<textarea"):]  # the uploaded text, kept to be fixed


def test_a_file_for_the_other_line_is_refused(browser_for):
    r = _post(browser_for("lead"), text=MANAGER)
    assert r.status_code == 400 and "is a manager rule file, not a sharps one" in _summary(r.text)


@pytest.mark.parametrize("kwargs, message", [
    ({"line": None, "text": SHARPS}, "Select which rules the file is for"),
    ({"text": ""}, "Choose a rule file (.yaml) or paste its text"),
    ({"text": SHARPS, "file": ("a.yaml", b"x: 1", "application/x-yaml")}, "Line 1: version None"),  # the file wins
    ({"file": ("big.yaml", b"#" * (256 * 1024 + 1), "application/x-yaml")}, "smaller than 256 KB"),
    ({"text": "#" * (256 * 1024 + 1)}, "smaller than 256 KB"),
    ({"file": ("latin.yaml", "version: sharps-2099.1.1 # caf\u00e9".encode("latin-1"), "application/x-yaml")},
     "UTF-8"),
])
def test_form_problems_are_summarised(browser_for, kwargs, message):
    r = _post(browser_for("lead"), **kwargs)
    assert r.status_code == 400
    assert message in _summary(r.text)


def test_the_form_needs_its_csrf_token(browser_for):
    r = _post(browser_for("lead"), text=SHARPS, csrf=False)
    assert r.status_code == 403 and "Form expired" in r.text
