"""The rule-file loader, its validation, and the tiny condition matcher."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from api.triage.facts import SHARPS_FACTS
from api.triage.ruleset import (
    RULES_DIR,
    URGENCY_ORDER,
    OneOf,
    Range,
    RuleSetError,
    all_rule_files,
    available_versions,
    load_manager_rules,
    load_rules,
    load_ruleset,
    load_sharps_rules,
    matches,
    parse_condition,
    raise_only,
)


# --- matcher ------------------------------------------------------------------

@pytest.mark.parametrize(
    "when, facts, expected",
    [
        ({}, {}, True),  # an empty condition always holds
        ({"exposure": "significant"}, {"exposure": "significant"}, True),
        ({"exposure": "significant"}, {"exposure": "not_significant"}, False),
        ({"exposure": ["significant", "possibly_significant"]}, {"exposure": "possibly_significant"}, True),
        ({"exposure": ["significant"]}, {}, False),  # a missing fact is unknown
        ({"pregnant_or_breastfeeding": [None]}, {}, True),
        ({"pregnant_or_breastfeeding": None}, {"pregnant_or_breastfeeding": None}, True),
        ({"clean_sharp": True}, {"clean_sharp": 1}, False),  # True must not equal 1
        ({"clean_sharp": False}, {"clean_sharp": 0}, False),
        ({"clean_sharp": True}, {"clean_sharp": True}, True),
        ({"exposure": "significant", "hiv_risk": "positive"},
         {"exposure": "significant", "hiv_risk": "negative"}, False),
        ({"exposure": "significant", "hiv_risk": "positive"},
         {"exposure": "significant", "hiv_risk": "positive"}, True),
    ],
)
def test_matches_one_of_and_and(when, facts, expected):
    assert matches(parse_condition(when, SHARPS_FACTS, "test"), facts) is expected


@pytest.mark.parametrize(
    "range_, value, expected",
    [
        (Range(max=72), 72.0, True),
        (Range(max=72), 72.0001, False),
        (Range(above=72), 72.0, False),
        (Range(above=72), 72.0001, True),
        (Range(min=24), 24, True),
        (Range(min=24), 23.99, False),
        (Range(below=24), 24, False),
        (Range(below=24), 23.99, True),
        (Range(above=24, max=72), 24, False),
        (Range(above=24, max=72), 48, True),
        (Range(max=72), None, False),
        (Range(max=72, or_unknown=True), None, True),
        (Range(max=72, or_unknown=True), 80, False),
        (Range(or_unknown=True), None, True),
        (Range(max=72), True, False),  # a boolean is not a number
        (Range(max=72), "10", False),
        (Range(max=72), float("nan"), False),
        (Range(max=72, or_unknown=True), float("nan"), True),
    ],
)
def test_range(range_, value, expected):
    assert range_.test(value) is expected


def test_parse_condition_builds_tests():
    cond = parse_condition(
        {"exposure": ["significant"], "hours_since_exposure": {"max": 72, "or_unknown": True}, "clean_sharp": False},
        SHARPS_FACTS,
        "test",
    )
    assert cond["exposure"] == OneOf(("significant",))
    assert cond["hours_since_exposure"] == Range(max=72, or_unknown=True)
    assert cond["clean_sharp"] == OneOf((False,))


@pytest.mark.parametrize(
    "when, message",
    [
        ({"hiv_rsk": "positive"}, "unknown fact 'hiv_rsk'"),
        ({"hiv_risk": "postive"}, "cannot be 'postive'"),
        ({"hiv_risk": []}, "empty list"),
        ({"exposure": {"max": 3}}, "not numeric"),
        ({"hours_since_exposure": {"upto": 3}}, "unknown range keys"),
        ({"hours_since_exposure": {"max": "72"}}, "must be a number"),
        ({"hours_since_exposure": {"max": True}}, "must be a number"),
        ({"hours_since_exposure": {}}, "empty range"),
        ({"hours_since_exposure": 72}, "takes a range or null"),
        ({"hours_since_exposure": {"max": 1, "or_unknown": "yes"}}, "or_unknown"),
        (["exposure"], "must be a mapping"),
    ],
)
def test_parse_condition_rejects(when, message):
    with pytest.raises(RuleSetError, match=message):
        parse_condition(when, SHARPS_FACTS, "test")


# --- loader -------------------------------------------------------------------

GOOD_SHARPS = """
version: sharps-9.0.0
line: sharps
pep_window_hours: 72
future_tolerance_minutes: 10
rules:
  - id: a_rule
    when: {exposure: significant}
    tier: urgent
    flags: [page_on_call]
    source: Some guidance
    advice:
      - {code: some_advice, text: "Do the thing."}
      - {code: other_advice, text: "Another.", source: Other guidance, when: {hiv_risk: positive}}
"""


def write(tmp_path: Path, text: str, name: str = "sharps-9.0.0.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_loads_a_good_file(tmp_path):
    rules = load_ruleset(write(tmp_path, GOOD_SHARPS))
    assert rules.version == "sharps-9.0.0" and rules.line == "sharps"
    (rule,) = rules.rules
    assert rule.tier == "urgent" and rule.flags == {"page_on_call"}
    assert [a.source for a in rule.advice] == ["Some guidance", "Other guidance"]  # rule source is the default
    result = rules.evaluate({"exposure": "significant", "hiv_risk": "negative"})
    assert result.rules_fired == ("a_rule",) and [a.code for a in result.advice] == ["some_advice"]


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("    source: Some guidance\n", "", "missing 'source'"),
        ("    source: Some guidance\n", "    source: '  '\n", "'source' must be a non-empty string"),
        ("tier: urgent", "tier: critical", "unknown tier 'critical'"),
        ("{exposure: significant}", "{exposure: sigificant}", "cannot be 'sigificant'"),
        ("{exposure: significant}", "{exposre: significant}", "unknown fact 'exposre'"),
        ("flags: [page_on_call]", "flags: [page_everyone]", "flags must be a list"),
        ("    tier: urgent\n", "    tier: urgent\n    route: nurse\n", "route 'nurse' not allowed"),
        ("    tier: urgent\n", "    tier: urgent\n    wen: {}\n", "unknown keys \\['wen'\\]"),
        ("id: a_rule", "id: A Rule", "lower_snake_case"),
        ("code: some_advice", "code: Some-Advice", "lower_snake_case"),
        ('text: "Do the thing."', 'text: ""', "'text' must be a non-empty string"),
        ("version: sharps-9.0.0", "version: sharps-9.0.1", "must equal the file name stem"),
        ("pep_window_hours: 72\n", "", "missing settings \\['pep_window_hours'\\]"),
        ("pep_window_hours: 72", "pep_window_hours: -1", "non-negative"),
        ("pep_window_hours: 72", "pep_window_hours: 72\nextra_setting: 1", "unknown top-level keys"),
        ("line: sharps", "line: manager", "does not match the file name"),
    ],
)
def test_loader_rejects_with_a_clear_message(tmp_path, old, new, message):
    assert old in GOOD_SHARPS
    with pytest.raises(RuleSetError, match=message):
        load_ruleset(write(tmp_path, GOOD_SHARPS.replace(old, new)))


def test_loader_rejects_duplicate_ids(tmp_path):
    text = GOOD_SHARPS + "  - {id: a_rule, source: x, tier: routine}\n"
    with pytest.raises(RuleSetError, match="duplicate rule id 'a_rule'"):
        load_ruleset(write(tmp_path, text))


@pytest.mark.parametrize(
    "text, message",
    [
        ("rules: [", "not valid YAML"),
        ("- just a list", "mapping at the top level"),
        ("version: sharps-9.0.0\npep_window_hours: 1\nfuture_tolerance_minutes: 1\nrules: []", "non-empty list"),
    ],
)
def test_loader_rejects_broken_files(tmp_path, text, message):
    with pytest.raises(RuleSetError, match=message):
        load_ruleset(write(tmp_path, text))


@pytest.mark.parametrize("name", ["sharps.yaml", "sharps-v1.yaml", "dental-1.0.yaml"])
def test_loader_rejects_bad_file_names(tmp_path, name):
    with pytest.raises(RuleSetError, match="file name must be"):
        load_ruleset(write(tmp_path, GOOD_SHARPS, name=name))


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('start: "08:00"', 'start: "8am"', "working_hours.start"),
        ("timezone: Europe/London", "timezone: Europe/Londn", "unknown time zone"),
        ("days: [mon, tue, wed, thu, fri]", "days: [mon, funday]", "funday"),
        ("bank_holidays: []", "bank_holidays: [christmas]", "bank_holidays"),
        ('end: "18:00"', 'end: "07:00"', "start must be before end"),
        ('end: "18:00"', "end: 18:00", "working_hours.end"),  # unquoted YAML 1.1 reads a number
    ],
)
def test_manager_working_hours_validation(tmp_path, old, new, message):
    text = (RULES_DIR / "manager-2026.11.1.yaml").read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new).replace("version: manager-2026.11.1", "version: manager-9.0.0")
    with pytest.raises(RuleSetError, match=message):
        load_ruleset(write(tmp_path, text, name="manager-9.0.0.yaml"))


@pytest.mark.parametrize(
    "new, message",
    [
        ("bank_holidays: scotland", "unknown bank holiday calendar 'scotland'"),
        ("bank_holidays: ../rules/manager-2026.11.1", "unknown bank holiday calendar"),
        ("bank_holidays: 2026-12-25", "expected a calendar name"),  # a date, not a list or a name
        ("bank_holidays: {calendar: england-and-wales}", "expected a calendar name"),
    ],
)
def test_manager_bank_holiday_calendar_validation(tmp_path, new, message):
    text = (RULES_DIR / "manager-2026.11.2.yaml").read_text(encoding="utf-8")
    assert "bank_holidays: england-and-wales" in text
    text = text.replace("bank_holidays: england-and-wales", new).replace(
        "version: manager-2026.11.2", "version: manager-9.0.0")
    with pytest.raises(RuleSetError, match=message):
        load_ruleset(write(tmp_path, text, name="manager-9.0.0.yaml"))


# --- the shipped files ----------------------------------------------------------

@pytest.mark.parametrize("path", list(all_rule_files()), ids=lambda p: p.name)
def test_every_shipped_rule_file_loads(path):
    rules = load_ruleset(path)
    assert rules.version == path.stem
    for rule in rules.rules:
        assert rule.source
        for advice in rule.advice:
            assert advice.source and advice.text
        codes = [a.code for a in rule.advice]
        assert len(codes) == len(set(codes))


def test_shipped_rule_files_exist_for_both_lines():
    assert available_versions("sharps")[:2] == ("sharps-2026.11.1", "sharps-2026.12.1")
    assert "manager-2026.11.1" in available_versions("manager")
    assert "manager-2026.11.2" in available_versions("manager")


def test_current_version_is_the_newest_and_cached():
    assert load_sharps_rules().version == available_versions("sharps")[-1]
    assert load_sharps_rules() is load_sharps_rules("sharps-2026.12.1")
    assert load_manager_rules().line == "manager"


def test_older_sharps_version_stays_loadable_for_old_cases():
    old = load_sharps_rules("sharps-2026.11.1")
    assert old.version == "sharps-2026.11.1" and old is not load_sharps_rules()
    assert "human_bite" not in {r.id for r in old.rules}


def test_newest_manager_version_is_current_and_older_ones_stay_loadable():
    # Versions compare as numbers, part by part: 2026.11.10 would come after 2026.11.2.
    assert available_versions("manager")[:2] == ("manager-2026.11.1", "manager-2026.11.2")
    # The newest file is current (a later manager version may be added beside these).
    assert load_manager_rules() is load_manager_rules(available_versions("manager")[-1])
    assert load_manager_rules("manager-2026.11.2").version == "manager-2026.11.2"
    assert load_manager_rules("manager-2026.11.1").version == "manager-2026.11.1"


def test_version_order_is_numeric(tmp_path):
    for stem in ("manager-2026.11.2", "manager-2026.11.10", "manager-2026.9.1", "manager-2027.1.1"):
        (tmp_path / f"{stem}.yaml").write_text("", encoding="utf-8")
    assert available_versions("manager", tmp_path) == (
        "manager-2026.9.1", "manager-2026.11.2", "manager-2026.11.10", "manager-2027.1.1")


@pytest.mark.parametrize("version", ["sharps-0.0.1", "manager-2026.11.1", "../sharps-2026.11.1", "", 5])
def test_unknown_or_foreign_versions_are_rejected(version):
    with pytest.raises(RuleSetError):
        load_rules("sharps", version)


def test_emergency_only_via_hiv_pep():
    # The brief: urgency may be emergency only via the hiv_pep rule.
    emergency = [r.id for r in load_sharps_rules().rules if r.tier == "emergency"]
    assert emergency == ["hiv_pep"]


# --- raise_only -----------------------------------------------------------------

@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("routine", "urgent", "urgent"),
        ("urgent", "routine", "urgent"),
        ("emergency", "urgent", "emergency"),
        ("urgent", "emergency", "emergency"),
        ("routine", "routine", "routine"),
        (None, "routine", "routine"),
        ("urgent", None, "urgent"),
    ],
)
def test_raise_only(old, new, expected):
    assert raise_only(old, new) == expected


@pytest.mark.parametrize("old, new", [("high", "urgent"), ("urgent", "URGENT"), (None, None)])
def test_raise_only_rejects_unknown_urgency(old, new):
    with pytest.raises(ValueError):
        raise_only(old, new)


def test_urgency_order():
    assert URGENCY_ORDER == ("routine", "urgent", "emergency")


# --- purity (architecture: the triage rules import no framework, ORM, HTTP client or clock) ---

FORBIDDEN_MODULES = {"fastapi", "starlette", "sqlalchemy", "httpx", "requests", "time", "api.services",
                     "api.routes", "api.models", "api.core", "actions", "bot"}


def _triage_sources():
    return sorted((Path(__file__).resolve().parents[3] / "api" / "triage").glob("*.py"))


@pytest.mark.parametrize("path", _triage_sources(), ids=lambda p: p.name)
def test_triage_module_is_pure(path):
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            assert not any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES), (path.name, name)
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"now", "utcnow", "today", "time_ns"}, (path.name, node.attr)


def test_importing_triage_reads_no_files():
    import subprocess
    import sys

    code = (
        "import api.triage, api.triage.ruleset as r, api.triage.crisis as c;"
        "assert r._load_cached.cache_info().currsize == 0;"
        "assert c.load_lexicon.cache_info().currsize == 0"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
