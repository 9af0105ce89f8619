"""/rules/replay in Chromium: the clinical lead uploads a deliberately weakened sharps rule file, reads
which past cases would move down, then uploads a broken one and reads the line it names; axe-core
finds no serious or critical violation on the empty form, the diff or the error."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from api.triage.ruleset import RULES_DIR, available_versions
from tests.browser import axe
from tests.browser.stack import ARTIFACTS, DESKTOP, api, sign_in

pytestmark = pytest.mark.slow

LIVE = available_versions("sharps")[-1]
SHARPS = (RULES_DIR / f"{LIVE}.yaml").read_text(encoding="utf-8")


def weakened() -> str:
    """Without hiv_pep: a possible HIV exposure inside the PEP window is no longer an emergency."""
    start, end = SHARPS.index("  - id: hiv_pep\n"), SHARPS.index("  - id: hiv_pep_window_closed\n")
    return (SHARPS[:start] + SHARPS[end:]).replace(f"version: {LIVE}\n", "version: sharps-2099.1.1\n")


@pytest.fixture
def page(chromium) -> Iterator[Any]:
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def _hiv_needlestick(server: dict[str, Any]) -> str:
    occurred = datetime.now(timezone.utc) - timedelta(minutes=20)
    answers = {"exposure_type": "percutaneous", "fluid": "blood",
               "device": {"kind": "hollow_bore_needle", "used": True, "visible_blood": True},
               "source": {"identified": True, "hiv": "positive"}, "occurred_at": occurred.isoformat()}
    created = api(server, "POST", "/api/cases", json={"line": "sharps", "channel": "web",
                                                      "conversation_id": "replay-1", "answers": answers})
    return created.json()["ref"]


def _upload(page: Any, name: str, text: str) -> None:
    page.check("#line")  # the first radio: sharps
    page.set_input_files("#rules_file", files=[{"name": name, "mimeType": "application/x-yaml",
                                                "buffer": text.encode("utf-8")}])
    page.locator("main form [type=submit]").click()
    page.wait_for_load_state()


def test_the_lead_uploads_a_weakened_file_and_reads_the_diff(server, page):
    ref = _hiv_needlestick(server)
    failures: list[str] = []
    sign_in(page, server, "clinical_lead")
    page.get_by_role("link", name="Rules", exact=True).click()
    page.wait_for_selector("#rules_file")
    failures += axe.audit(page, "rules-replay")

    _upload(page, "sharps-2099.1.1.yaml", weakened())
    page.wait_for_selector("#result")
    row = page.locator("#changed tbody tr", has=page.locator(f"a[href='/cases/{ref}']"))
    assert row.count() == 1, page.inner_text("main")
    text = row.inner_text().lower()  # the badges are set in capitals
    assert "moves down: examine" in text and "emergency" in text and "urgent" in text and "hiv_pep" in text
    assert f"sharps-2099.1.1 against the live {LIVE}" in page.inner_text("#result-title")
    failures += axe.audit(page, "rules-replay-diff")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rules-replay-diff.png"), full_page=True)

    broken = SHARPS.replace("    tier: emergency\n", "    tier: critical\n")
    line = next(n for n, t in enumerate(broken.splitlines(), 1) if "tier: critical" in t)
    _upload(page, "candidate.yaml", broken)
    page.wait_for_selector(".error-summary")
    assert f"Line {line}: rule #2 (hiv_pep): unknown tier 'critical'" in page.inner_text(".error-summary")
    assert "tier: critical" in page.inner_text("#snippet")
    page.locator(".error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "rules_text"  # the summary's link reaches the text
    failures += axe.audit(page, "rules-replay-error")
    page.screenshot(path=str(ARTIFACTS / "rules-replay-error.png"), full_page=True)
    assert not failures, axe.explain(failures)
