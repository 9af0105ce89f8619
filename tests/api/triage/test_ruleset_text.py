"""parse_ruleset: a rule file's text (a draft or an upload) through the same checks as the shipped
files, every error naming the line of the text it is about."""
from __future__ import annotations

import pytest

from api.triage.ruleset import RULES_DIR, RuleSetError, all_rule_files, load_ruleset, parse_ruleset

SHARPS = (RULES_DIR / "sharps-2026.12.1.yaml").read_text(encoding="utf-8")
MANAGER = (RULES_DIR / "manager-2026.12.1.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the `occurrence`-th line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def error(text: str, **kwargs) -> RuleSetError:
    with pytest.raises(RuleSetError) as caught:
        parse_ruleset(text, **kwargs)
    return caught.value


@pytest.mark.parametrize("path", list(all_rule_files()), ids=lambda p: p.name)
def test_every_shipped_file_parses_from_text_exactly_as_load_ruleset_reads_it(path):
    from_file = load_ruleset(path)
    from_text = parse_ruleset(path.read_text(encoding="utf-8"))
    assert (from_text.version, from_text.line) == (from_file.version, from_file.line) == (path.stem, from_file.line)
    assert from_text.rules == from_file.rules  # every rule, condition, flag and advice item
    assert dict(from_text.params) == dict(from_file.params)


def test_the_line_comes_from_the_version_and_must_match_the_one_asked_for():
    assert parse_ruleset(SHARPS, line="sharps").line == "sharps"
    assert parse_ruleset(MANAGER).line == "manager"
    e = error(MANAGER, line="sharps")
    assert e.line == line_of(MANAGER, "version: manager-2026.12.1")
    assert "is a manager rule file, not a sharps one" in e.problem and e.problem.startswith(f"line {e.line}: ")


@pytest.mark.parametrize("version", ["sharps", "sharps-v2", "dental-1.0", "sharps-2027.1.1\n", 2027, None])
def test_an_upload_version_must_be_line_dash_number(version):
    text = SHARPS.replace("version: sharps-2026.12.1", f"version: {version!r}" if version is not None else "")
    e = error(text, line="sharps")
    assert "must be <line>-<number>" in e.message
    assert e.line is not None


def test_a_line_key_that_disagrees_with_the_version_names_its_line():
    text = SHARPS.replace("line: sharps", "line: manager", 1)
    e = error(text)
    assert (e.line, e.message) == (line_of(text, "line: manager"), "line 'manager' does not match the version")


def test_a_yaml_syntax_error_names_its_line():
    lines = SHARPS.splitlines()
    at = line_of(SHARPS, "- id: hiv_pep_window_closed")
    lines.insert(at, "\twhen: {}")  # a tab cannot start a token; it becomes line at + 1
    e = error("\n".join(lines))
    assert e.line == at + 1
    assert e.message.startswith("not valid YAML") and e.problem.startswith(f"line {e.line}: not valid YAML")
    assert str(e).startswith("<upload>: line ")


def test_an_unknown_fact_names_the_line_of_the_fact_and_the_rule():
    old = "      hiv_risk: [positive, suspected]\n      hours_since_exposure: {max: 72, or_unknown: true}\n"
    assert SHARPS.count(old) == 1
    text = SHARPS.replace(old, old.replace("hiv_risk:", "foo: 1\n      hiv_risk:"))
    e = error(text, line="sharps")
    assert e.line == line_of(text, "foo: 1")
    assert e.problem.startswith(f"line {e.line}: rule #2 (hiv_pep).when: unknown fact 'foo'")


def test_a_bad_tier_names_its_line():
    text = SHARPS.replace("    tier: emergency\n", "    tier: critical\n")
    e = error(text)
    assert e.line == line_of(text, "tier: critical")
    assert "rule #2 (hiv_pep): unknown tier 'critical'" in e.message


def test_a_duplicate_rule_id_names_the_second_one():
    text = SHARPS.replace("  - id: hiv_pep_window_closed\n", "  - id: hiv_pep\n")
    e = error(text)
    assert e.line == line_of(text, "- id: hiv_pep", occurrence=2)
    assert "duplicate rule id 'hiv_pep' (rule #2 has it too)" in e.message


def test_a_key_given_twice_is_refused_not_silently_dropped():
    # safe_load keeps the last of two `when:` keys: a rule's condition could vanish unseen.
    text = SHARPS.replace("    tier: emergency\n", "    tier: emergency\n    tier: urgent\n")
    e = error(text)
    assert e.line == line_of(text, "tier: urgent") and "found the key 'tier' twice" in e.message


@pytest.mark.parametrize("old, new, needle, message", [
    ("    flags: [go_to_emergency_department, page_on_call]\n", "    flags: [go_to_a_and_e]\n",
     "flags: [go_to_a_and_e]", "flags must be a list"),
    ("      hiv_risk: [positive, suspected]\n", "      hiv_risk: [positive, maybe]\n", "hiv_risk: [positive, maybe]",
     "cannot be 'maybe'"),
    ("        when: {hours_since_exposure: {max: 24}}\n", "        when: {hours_since_exposure: {max: soon}}\n",
     "{max: soon}", "max must be a number"),
    ("      - code: hiv_pep_within_24h\n", "      - code: Hiv-Pep\n", "code: Hiv-Pep", "lower_snake_case"),
    ("pep_window_hours: 72\n", "pep_window_hours: -1\n", "pep_window_hours: -1", "non-negative"),
    ("pep_window_hours: 72\n", "pep_window_hours: 72\nextra_setting: 1\n", "extra_setting: 1",
     "unknown top-level keys"),
])
def test_schema_errors_name_their_line(old, new, needle, message):
    assert old in SHARPS
    text = SHARPS.replace(old, new, 1)
    e = error(text)
    assert e.line == line_of(text, needle), e
    assert message in e.message


def test_a_rule_with_no_source_is_placed_at_the_rule():
    first_advice = "    advice:\n      - code: hiv_pep_within_24h"
    source = "    source: BHIVA/BASHH UK guideline for the use of HIV post-exposure prophylaxis 2021\n"
    assert SHARPS.count(source + first_advice) == 1
    text = SHARPS.replace(source + first_advice, first_advice)
    e = error(text)
    assert e.line == line_of(text, "- id: hiv_pep") and "missing 'source'" in e.message


def test_whole_file_problems_name_a_line_too():
    assert error("").line == 1
    assert error("- a list\n").message == "expected a mapping at the top level"
    e = error("# a comment\n\nversion: sharps-9.0.0\npep_window_hours: 1\nfuture_tolerance_minutes: 1\nrules: []\n")
    assert (e.line, e.message) == (6, "'rules' must be a non-empty list")
    e = error("version: sharps-9.0.0\nrules:\n  - {id: a, source: x, tier: routine}\n")
    assert (e.line, e.message) == (1, "missing settings ['future_tolerance_minutes', 'pep_window_hours']")
    assert error("rules: [\x07]\n").line == 1  # a character YAML does not allow


def test_manager_working_hours_errors_name_their_line():
    text = MANAGER.replace('start: "08:00"', 'start: "8am"')
    e = error(text, line="manager")
    assert e.line == line_of(MANAGER, "working_hours:") and "working_hours.start" in e.message


def test_load_ruleset_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "sharps-9.0.0.yaml"
    path.write_text(SHARPS.replace("version: sharps-2026.12.1", "version: sharps-9.0.0").replace(
        "tier: emergency", "tier: critical"), encoding="utf-8")
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(path)
    assert caught.value.name == "sharps-9.0.0.yaml" and caught.value.line == line_of(path.read_text(), "tier: critical")
    assert str(caught.value).startswith(f"sharps-9.0.0.yaml: line {caught.value.line}: rule #2 (hiv_pep)")


def test_a_file_name_must_still_be_its_version(tmp_path):
    path = tmp_path / "sharps-9.0.0.yaml"
    path.write_text(SHARPS, encoding="utf-8")  # says sharps-2026.12.1
    with pytest.raises(RuleSetError, match=r"must equal the file name stem 'sharps-9\.0\.0'") as caught:
        load_ruleset(path)
    assert caught.value.line == line_of(SHARPS, "version:")
