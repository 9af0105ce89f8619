"""axe-core in the page under test: the vendored copy (tests/browser/vendor/axe-core, checked by
its SHA-256 so a changed file is noticed), the WCAG 2.0-2.2 A/AA rules plus axe's best
practices, and every result written to tests/artifacts/axe/<name>.json for reading later.

The pages' Content-Security-Policy allows only their own scripts, so the browser context that
runs axe is opened with bypass_csp=True; the CSP itself is tested elsewhere.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"  # axe-core 4.14.1
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "axe"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
FAILING = ("serious", "critical")


@lru_cache(maxsize=1)
def source() -> str:
    data = VENDOR.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == SHA256, f"{VENDOR} is not the vendored axe-core (sha256 {digest}); run scripts/vendor_axe.py"
    return data.decode()


def audit(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe on the page as it is now; write the full result; return the serious and critical
    violations, each as {id, impact, help, nodes: [target selectors and failure summaries]}."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(
        {"url": page.url, "violations": result["violations"]}, indent=1))
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [{"target": n["target"], "summary": n.get("failureSummary", "")} for n in v["nodes"][:5]]}
        for v in result["violations"] if v["impact"] in FAILING
    ]


def explain(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}) at {n['target']}: {n['summary']}"
                     for v in violations for n in v["nodes"])


def collect(page: Any, name: str, failures: list[str]) -> None:
    """Audit the page and add its serious or critical violations, explained, to `failures`: a test
    checks every page it visits and reports them all at the end."""
    found = audit(page, name)
    if found:
        failures.append(f"{name} ({page.url}):\n{explain(found)}")


def collect_sideways_scroll(page: Any, name: str, failures: list[str]) -> None:
    """Add to `failures` if the page is wider than its window, naming the first elements past the edge."""
    width, view = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width > view:
        wide = page.evaluate("""view => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > view).slice(0, 5)
            .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""", view)
        failures.append(f"{name} scrolls sideways at {view} px: {width} px wide ({', '.join(wide)})")
