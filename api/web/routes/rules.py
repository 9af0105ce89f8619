"""/rules/replay: a clinical lead tries a candidate rule file on past cases before it is released
(issue #17; README "Releasing a rule version"). Upload the file or paste its text, choose the
line; the page shows what would change against the live rules. Nothing is stored, nobody is
paged (api/services/replay.py). A release is the clinical lead's to sign off, so the page is
theirs alone (a practitioner is refused with a message saying so).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.responses import Response

from api.deps import SessionDep
from api.services import replay
from api.services.accounts import Role
from api.triage.ruleset import RuleSetError
from api.web.deps import Csrf, WebRoute, WebUser, require_roles
from api.web.forms import Problems
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LeadUser = Annotated[WebUser, Depends(require_roles(
    Role.clinical_lead, message="Trying a rule file on past cases is for clinical leads: they sign a new rule "
                                "version off. Ask your clinical lead."))]
LINES = {"sharps": "Sharps and splash", "manager": "Manager line (crisis rules included)"}
MAX_KB = replay.MAX_RULE_FILE_BYTES // 1024
SNIPPET_AROUND = 2  # lines shown either side of the line a problem is on


def _snippet(text: str, line: int | None) -> list[dict[str, Any]]:
    """The lines around a problem's line, so the lead sees what the message is about."""
    if not line:
        return []
    lines = text.splitlines()
    first, last = max(1, line - SNIPPET_AROUND), min(len(lines), line + SNIPPET_AROUND)
    return [{"number": n, "text": lines[n - 1], "here": n == line} for n in range(first, last + 1)]


def _page(request: Request, form: dict[str, Any], *, problems: Problems | None = None, diff: Any = None,
          snippet: list[dict[str, Any]] | None = None, status_code: int = 200) -> Response:
    return render(request, "rules_replay.html", {
        "form": form, "problems": problems, "diff": diff, "snippet": snippet or [], "lines": LINES, "max_kb": MAX_KB,
    }, status_code=status_code)


@router.get("/rules/replay")
def replay_form(request: Request, user: LeadUser):
    return _page(request, {"line": "", "rules_text": ""})


def _read_upload(upload: UploadFile, problems: Problems) -> str | None:
    data = upload.file.read(replay.MAX_RULE_FILE_BYTES + 1)
    if len(data) > replay.MAX_RULE_FILE_BYTES:
        problems.add("rules_file", f"The file must be smaller than {MAX_KB} KB")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add("rules_file", "The file must be UTF-8 text (a .yaml rule file)")
        return None


@router.post("/rules/replay", dependencies=[Csrf])
def replay_run(
    request: Request, user: LeadUser, session: SessionDep,
    line: Annotated[str, Form(max_length=20)] = "",
    rules_text: Annotated[str, Form()] = "",
    rules_file: Annotated[UploadFile | None, File()] = None,
):
    problems = Problems()
    chosen = line if line in LINES else ""
    uploaded = rules_file is not None and bool(rules_file.filename)
    if not chosen:
        problems.add("line", "Select which rules the file is for")
    text: str | None = None
    if uploaded:  # a file chosen is used, whatever the box holds (it may hold the last file's text)
        text = _read_upload(rules_file, problems)  # type: ignore[arg-type]
    elif not rules_text.strip():
        problems.add("rules_file", "Choose a rule file (.yaml) or paste its text")
    elif len(rules_text.encode("utf-8")) > replay.MAX_RULE_FILE_BYTES:
        problems.add("rules_text", f"The rules must be smaller than {MAX_KB} KB")
    else:
        text = rules_text
    # After a problem, the text box holds the text that was tried (an uploaded file's too), so the
    # line a message names can be read and fixed there.
    form = {"line": chosen, "rules_text": text if text is not None else rules_text}
    if problems or text is None:
        return _page(request, form, problems=problems, status_code=400)
    try:
        diff = replay.replay(session, line=chosen, rules_yaml=text)
    except RuleSetError as exc:
        problems.add("rules_text", exc.problem[:1].upper() + exc.problem[1:])
        return _page(request, form, problems=problems, snippet=_snippet(text, exc.line), status_code=400)
    return _page(request, {"line": chosen, "rules_text": "" if uploaded else rules_text}, diff=diff)
