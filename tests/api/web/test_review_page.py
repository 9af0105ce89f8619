"""The practitioner's review on the case page, the under-triage flag, and the concordance section of
the reports page (issue #17)."""
from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.models import Case, CaseEvent, CaseReview
from tests.api.web.builders import case_row
from tests.api.web.conftest import token_of

V12 = "sharps-2026.12.1"


def _case(session, world, clock, ref: str, urgency: str | None, *, days_ago: float = 0, org: str = "a",
          line: str = "sharps", version: str | None = V12) -> str:
    case = case_row(session, ref=ref, line=line, urgency=urgency, channel="web", org=world["orgs"][org],
                    created_at=clock.now - timedelta(days=days_ago), status="triaged" if urgency else "open")
    case.rule_version = version if urgency else None
    case.decision = {"urgency": urgency, "rule_version": version, "rules_fired": []} if urgency else None
    session.commit()
    return ref


def _text(html: str) -> str:
    """The page's words, tags removed and spaces squeezed."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))


def _post(browser, ref: str, **data):
    return browser.post(f"/cases/{ref}/review", data={"csrf_token": token_of(browser, f"/cases/{ref}"), **data},
                        follow_redirects=False)


def _card(html: str) -> str:
    return re.search(r'<section class="card" id="review-card".*?</section>', html, re.S).group(0)


def test_the_review_card_offers_three_radios_in_a_fieldset_beside_the_rules(browser_for, world, session, clock):
    ref = _case(session, world, clock, "SH-000201", "urgent")
    card = _card(browser_for("practitioner").get(f"/cases/{ref}").text)
    assert "Your review" in card and "The rules said:" in card and "Urgent" in card and V12 in card
    assert re.search(r"<fieldset[^>]*>\s*<legend>", card)
    radios = re.findall(r'<input type="radio" id="([^"]+)" name="urgency" value="([^"]+)"', card)
    assert radios == [("review-urgency", "routine"), ("review-urgency-urgent", "urgent"),
                      ("review-urgency-emergency", "emergency")]
    assert "checked" not in card  # nothing chosen for them: their own judgement, not the rules'
    assert '<label for="review-note">' in card and 'id="review-note" name="note"' in card
    assert f'action="/cases/{ref}/review"' in card


def test_a_review_through_the_form_is_recorded_as_the_signed_in_user(browser_for, world, session, clock):
    ref = _case(session, world, clock, "SH-000202", "urgent")
    lead = browser_for("lead")
    r = _post(lead, ref, urgency="urgent", note="spoke to him at 15:10", by="Someone Else")
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{ref}?done=review"
    row = session.scalars(select(CaseReview)).one()
    assert (row.urgency, row.rules_urgency, row.rule_version, row.by, row.actor, row.note) == (
        "urgent", "urgent", V12, "Dr Lee Lead", "Dr Lee Lead (clinical_lead)", "spoke to him at 15:10")
    (event,) = session.scalars(select(CaseEvent).where(CaseEvent.type == "review_recorded")).all()
    assert event.actor == "Dr Lee Lead (clinical_lead)"
    page = lead.get(f"/cases/{ref}?done=review").text
    card = _text(_card(page))
    assert "Your review is recorded." in page
    assert "Reviewed as Urgent by Dr Lee Lead, Monday 23 November, 14:00." in card
    assert "spoke to him at 15:10" in card
    assert 'value="urgent" checked' in _card(page)  # a change of mind starts from the current review
    assert 'id="under-triage-flag"' not in page


def test_an_error_keeps_the_note_and_points_at_the_radios(browser_for, world, session, clock):
    ref = _case(session, world, clock, "SH-000203", "urgent")
    nurse = browser_for("practitioner")
    for urgency in ("", "critical"):
        r = _post(nurse, ref, urgency=urgency, note="caller <anxious>, source unknown")
        assert r.status_code == 400
        assert 'class="error-summary"' in r.text
        assert '<a href="#review-urgency">Choose the urgency you judge this case to be</a>' in r.text
        card = _card(r.text)
        assert 'id="review-urgency-error"' in card and "form-group-error" in card
        assert 'aria-describedby="review-urgency-hint review-urgency-error"' in card
        assert ">caller &lt;anxious&gt;, source unknown</textarea>" in card
    assert session.scalars(select(CaseReview)).all() == []


def test_an_untriaged_case_has_no_form_and_a_post_is_refused(browser_for, world, session, clock):
    ref = _case(session, world, clock, "SH-000204", None)
    nurse = browser_for("practitioner")
    card = _card(nurse.get(f"/cases/{ref}").text)
    assert "Not triaged yet" in card and "<form" not in card
    r = _post(nurse, ref, urgency="urgent")
    assert r.status_code == 400 and "no urgency from the rules yet" in r.text
    assert session.scalars(select(CaseReview)).all() == []


def test_only_clinical_users_with_a_csrf_token_record_a_review(browser_for, world, session, clock):
    ref = _case(session, world, clock, "SH-000205", "urgent")
    nurse = browser_for("practitioner")
    assert nurse.post(f"/cases/{ref}/review", data={"urgency": "urgent"}).status_code == 403  # no CSRF token
    manager = browser_for("manager")
    r = manager.post(f"/cases/{ref}/review", data={"urgency": "urgent", "csrf_token": token_of(manager, "/")})
    assert r.status_code == 403
    assert session.scalars(select(CaseReview)).all() == []


def test_the_flag_shows_for_an_under_triaged_case_and_goes_when_the_mind_changes(browser_for, world, session,
                                                                                    clock):
    ref = _case(session, world, clock, "SH-000206", "urgent")
    lead = browser_for("lead")
    assert _post(lead, ref, urgency="emergency").status_code == 303
    page = lead.get(f"/cases/{ref}").text
    flag = re.search(r'<div class="alert alert-error" role="status" id="under-triage-flag">.*?</div>', page, re.S)
    assert flag, "no under-triage flag"
    assert ("Under-triaged: the rules said urgent, the practitioner said emergency — for the clinical lead."
            in _text(flag.group(0)))
    assert 'href="/reports#concordance"' in flag.group(0)
    clock.advance(hours=1)
    assert _post(lead, ref, urgency="routine", note="second thoughts").status_code == 303  # over-triage now
    page = lead.get(f"/cases/{ref}").text
    assert 'id="under-triage-flag"' not in page
    assert "Earlier reviews (1)" in page and session.scalar(select(CaseReview.id).where(
        CaseReview.urgency == "emergency")) is not None


@pytest.fixture
def reviewed(browser_for, world, session, clock) -> dict:
    """Two under-triaged cases, one agreed, one over-triaged, and one waiting 9 days for a review."""
    lead = browser_for("lead")
    refs = {
        "under": _case(session, world, clock, "SH-000301", "urgent", days_ago=2),
        "under_b": _case(session, world, clock, "SH-000302", "routine", days_ago=1, org="b"),
        "agree": _case(session, world, clock, "SH-000303", "urgent", days_ago=3),
        "over": _case(session, world, clock, "MA-000301", "urgent", days_ago=2, line="manager",
                      version="manager-2026.12.1"),
        "waiting": _case(session, world, clock, "SH-000304", "emergency", days_ago=9),
    }
    for key, urgency in (("under", "emergency"), ("under_b", "urgent"), ("agree", "urgent"), ("over", "routine")):
        assert _post(lead, refs[key], urgency=urgency).status_code == 303
    return refs


def _section(html: str) -> str:
    return re.search(r'<section class="card" id="concordance".*?</section>', html, re.S).group(0)


def test_the_reports_page_has_the_concordance_section(browser_for, reviewed):
    html = browser_for("lead").get("/reports").text
    section = _section(html)
    versions = re.search(r'<table class="plain" id="concordance-versions">.*?</table>', section, re.S).group(0)
    rows = [_text(r).strip() for r in re.findall(r"<tr>.*?</tr>", versions.split("<tbody>")[1], re.S)]
    assert rows == ["manager-2026.12.1 1 0 0 1 None", "sharps-2026.12.1 3 1 2 0 SH-000301 , SH-000302"]
    assert '<a class="ref" href="/cases/SH-000301">SH-000301</a>' in versions
    # the chart over time, an image with a name, its figures in a table
    svg = re.search(r"<svg[^>]*>", section).group(0)
    assert 'role="img"' in svg and 'aria-label="Cases reviewed and cases under-triaged' in svg
    assert 'href="#concordance-weekly"' in section and 'id="concordance-weekly"' in section
    # under-triaged cases for the clinical lead, and the alert at the top of the page
    under = re.search(r'id="concordance-under">.*?</table>', section, re.S).group(0)
    assert "SH-000301" in under and "SH-000302" in under and "SH-000303" not in under
    assert 'id="under-triage-alert"' in html and "Under-triaged cases for the clinical lead:" in html
    # no review after 7 days
    unreviewed = re.search(r'id="concordance-unreviewed">.*?</table>', section, re.S).group(0)
    assert '<a class="ref" href="/cases/SH-000304">SH-000304</a>' in unreviewed and ">9</td>" in unreviewed
    assert "No review 7 days after opening" in section
    assert 'href="/reports/concordance.csv"' in section


def test_the_concordance_filters_and_csv(browser_for, reviewed):
    lead = browser_for("lead")
    html = lead.get("/reports?line=sharps&organisation=FA001&from=2026-11-01&to=2026-11-30").text
    section = _section(html)
    assert '<option value="sharps" selected>' in section and '<option value="FA001" selected>' in section
    assert 'value="2026-11-01"' in section and 'value="2026-11-30"' in section
    assert "SH-000302" in section and "SH-000301" not in section and "MA-000301" not in section
    link = re.search(r'href="(/reports/concordance\.csv\?[^"]+)"', section).group(1)
    r = lead.get(html_lib.unescape(link))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[1:] == [["sharps-2026.12.1", "1", "0", "1", "0", "SH-000302", ""],
                        ["all", "1", "0", "1", "0", "SH-000302", ""]]
    assert lead.get("/reports/concordance.csv?from=soon").status_code == 400
    assert lead.get("/reports/volume.csv").status_code == 200  # the other tables' CSVs still answer


@pytest.mark.parametrize(("query", "field", "message"), [
    ("from=2026-02-30", "concordance-from", "Enter the start of the period as a real date, like 2026-11-02"),
    ("to=tomorrow", "concordance-to", "Enter the end of the period as a real date, like 2026-11-02"),
    ("from=2026-11-20&to=2026-11-01", "concordance-to",
     "The end of the period must be the same as or after its start"),
    ("organisation=NOPE1", "concordance-organisation", "No organisation has the code NOPE1"),
    ("line=dental", "concordance-line", "Choose a line: sharps or manager"),
])
def test_a_bad_concordance_filter_is_an_error_summary(browser_for, reviewed, query, field, message):
    r = browser_for("lead").get(f"/reports?{query}")
    assert r.status_code == 400
    assert 'class="error-summary"' in r.text and f'<a href="#{field}">{message}</a>' in r.text
    section = _section(r.text)
    assert f'id="{field}-error"' in section and f'aria-describedby="{field}-error"' in section
    assert "SH-000301" in section  # the figures are still shown, without the filter that cannot be used


def test_the_concordance_section_is_not_for_managers_or_admins(browser_for, reviewed):
    for role in ("manager", "admin"):
        assert browser_for(role).get("/reports").status_code == 403
        assert browser_for(role).get("/reports/concordance.csv").status_code == 403


def test_reviews_change_nothing_else_on_the_case(browser_for, world, session, clock):
    ref = _case(session, world, clock, "SH-000207", "urgent")
    before = session.scalar(select(Case).where(Case.ref == ref))
    status, urgency = before.status, before.urgency
    assert _post(browser_for("lead"), ref, urgency="emergency").status_code == 303
    session.expire_all()
    after = session.scalar(select(Case).where(Case.ref == ref))
    assert (after.status, after.urgency, after.rule_version) == (status, urgency, V12)
