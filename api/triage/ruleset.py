"""Versioned rule sets: load and validate a YAML file, and match its conditions.

A rule says when it fires (a condition over derived facts, see facts.py),
what tier it sets, which flags it raises, what advice it gives and which
guidance it rests on. Changing clinical rules is a new file in rules/ named
<line>-<version>.yaml; the newest version is the current one, and older
files stay so a stored decision can be explained by the rules that made it.

Condition syntax (all entries must hold; an empty condition always holds):
    fact: value                    equal to value
    fact: [a, b, null]             one of the values (null = unknown)
    fact: {min: 0, max: 24, above: 24, below: 72, or_unknown: true}
                                   numeric range (min/max inclusive,
                                   above/below exclusive); unknown matches
                                   only with or_unknown: true
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import yaml

from api.triage.facts import FACT_SCHEMAS, NUMBER
from api.triage.working_hours import WorkingHours, parse_working_hours

RULES_DIR = Path(__file__).resolve().parent / "rules"

URGENCY_ORDER = ("routine", "urgent", "emergency")
# Physician outranks nurse: if any rule asks for a physician, a physician it is.
ROUTE_ORDER = ("nurse", "physician")

LINE_FLAGS: Mapping[str, frozenset[str]] = {
    "sharps": frozenset({"page_on_call", "go_to_emergency_department"}),
    # page_any_time: page now even outside working hours (crisis).
    "manager": frozenset({"page_on_call", "page_any_time"}),
}
LINE_ROUTES: Mapping[str, frozenset[str]] = {"sharps": frozenset(), "manager": frozenset(ROUTE_ORDER)}
LINE_PARAMS: Mapping[str, frozenset[str]] = {
    "sharps": frozenset({"pep_window_hours", "future_tolerance_minutes"}),
    "manager": frozenset({"working_hours", "physician_topics"}),
}
_TOP_KEYS = frozenset({"version", "line", "description", "rules"})
_RULE_KEYS = frozenset({"id", "description", "when", "tier", "flags", "route", "exclusive", "advice", "source"})
_ADVICE_KEYS = frozenset({"code", "text", "source", "when"})
_RANGE_KEYS = frozenset({"min", "max", "above", "below", "or_unknown"})
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION = re.compile(r"^(?P<line>[a-z]+)-(?P<number>\d+(?:\.\d+)*)$")


class RuleSetError(ValueError):
    """A rule file is malformed; the message names the file, the rule and the field."""


def raise_only(old: str | None, new: str | None) -> str:
    """The higher of two urgencies: an urgency may rise but never fall."""
    for value in (old, new):
        if value is not None and value not in URGENCY_ORDER:
            raise ValueError(f"unknown urgency {value!r}; expected one of {URGENCY_ORDER}")
    if old is None or new is None:
        if old is None and new is None:
            raise ValueError("raise_only needs at least one urgency")
        return new if old is None else old  # type: ignore[return-value]
    return max(old, new, key=URGENCY_ORDER.index)


# --- conditions -------------------------------------------------------------

def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; a rule saying `true` must not match the number 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


@dataclass(frozen=True)
class OneOf:
    values: tuple

    def test(self, value: Any) -> bool:
        return any(_same(value, v) for v in self.values)


@dataclass(frozen=True)
class Range:
    min: float | None = None
    max: float | None = None
    above: float | None = None
    below: float | None = None
    or_unknown: bool = False

    def test(self, value: Any) -> bool:
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return self.or_unknown  # unknown (or not a number, or NaN)
        return (
            (self.min is None or value >= self.min)
            and (self.max is None or value <= self.max)
            and (self.above is None or value > self.above)
            and (self.below is None or value < self.below)
        )


Condition = Mapping[str, "OneOf | Range"]


def matches(condition: Condition, facts: Mapping[str, Any]) -> bool:
    """True when every test in the condition holds; a fact not given counts as unknown (None)."""
    return all(test.test(facts.get(name)) for name, test in condition.items())


def parse_condition(raw: Any, schema: Mapping[str, frozenset | str], where: str) -> Condition:
    """Turn a YAML `when:` into tests, rejecting unknown facts, values and range keys."""
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        raise RuleSetError(f"{where}: 'when' must be a mapping of fact: test")
    tests: dict[str, OneOf | Range] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or name not in schema:
            raise RuleSetError(f"{where}: unknown fact {name!r} (known facts: {', '.join(sorted(schema))})")
        allowed = schema[name]
        if isinstance(spec, Mapping):
            if allowed != NUMBER:
                raise RuleSetError(f"{where}: fact {name!r} is not numeric, so it cannot take a range")
            unknown = set(spec) - _RANGE_KEYS
            if unknown:
                raise RuleSetError(
                    f"{where}: fact {name!r}: unknown range keys {sorted(unknown)}; use {sorted(_RANGE_KEYS)}")
            bounds = {k: spec[k] for k in ("min", "max", "above", "below") if k in spec}
            for key, bound in bounds.items():
                if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                    raise RuleSetError(f"{where}: fact {name!r}: {key} must be a number, got {bound!r}")
            if not isinstance(spec.get("or_unknown", False), bool):
                raise RuleSetError(f"{where}: fact {name!r}: or_unknown must be true or false")
            if not bounds and not spec.get("or_unknown", False):
                raise RuleSetError(f"{where}: fact {name!r}: an empty range never matches")
            tests[name] = Range(**bounds, or_unknown=spec.get("or_unknown", False))
            continue
        values = tuple(spec) if isinstance(spec, list) else (spec,)
        if not values:
            raise RuleSetError(f"{where}: fact {name!r}: an empty list never matches")
        for value in values:
            if value is None:
                continue
            if allowed == NUMBER:
                raise RuleSetError(f"{where}: numeric fact {name!r} takes a range or null, not {value!r}")
            if not any(_same(value, a) for a in allowed):
                shown = ", ".join(sorted(map(str, allowed)))
                raise RuleSetError(f"{where}: fact {name!r} cannot be {value!r} (allowed: {shown}, null)")
        tests[name] = OneOf(values)
    return MappingProxyType(tests)


# --- rules ------------------------------------------------------------------

@dataclass(frozen=True)
class Advice:
    code: str
    text: str
    source: str
    when: Condition

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text, "source": self.source}


@dataclass(frozen=True)
class Rule:
    id: str
    when: Condition
    tier: str | None  # None: advice only, no effect on urgency
    flags: frozenset[str]
    route: str | None
    exclusive: bool  # when it fires, no other rule counts (crisis)
    advice: tuple[Advice, ...]
    source: str


@dataclass(frozen=True)
class Evaluation:
    """What a rule set says about one set of facts."""

    rules_fired: tuple[str, ...]
    urgency: str | None  # None when no fired rule carries a tier
    flags: frozenset[str]
    route: str | None
    advice: tuple[Advice, ...]


@dataclass(frozen=True, eq=False)  # identity equality: hashable, usable as a cache key
class RuleSet:
    version: str
    line: str
    rules: tuple[Rule, ...]
    params: Mapping[str, Any]

    def evaluate(self, facts: Mapping[str, Any]) -> Evaluation:
        fired = [rule for rule in self.rules if matches(rule.when, facts)]
        exclusive = [rule for rule in fired if rule.exclusive]
        if exclusive:
            fired = exclusive[:1]
        tiers = [rule.tier for rule in fired if rule.tier]
        routes = [rule.route for rule in fired if rule.route]
        return Evaluation(
            rules_fired=tuple(rule.id for rule in fired),
            urgency=max(tiers, key=URGENCY_ORDER.index) if tiers else None,
            flags=frozenset().union(*(rule.flags for rule in fired)),
            route=max(routes, key=ROUTE_ORDER.index) if routes else None,
            # Advice keeps file order, so the file decides what is said first.
            advice=tuple(a for rule in fired for a in rule.advice if matches(a.when, facts)),
        )

    @property
    def working_hours(self) -> WorkingHours:
        return self.params["working_hours"]


def _text(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleSetError(f"{where}: '{field}' must be a non-empty string")
    return value.strip()


def _parse_advice(raw: Any, schema: Mapping, rule_source: str, where: str) -> tuple[Advice, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RuleSetError(f"{where}: 'advice' must be a list")
    items = []
    for i, item in enumerate(raw):
        at = f"{where} advice[{i}]"
        if not isinstance(item, Mapping):
            raise RuleSetError(f"{at}: expected a mapping with code and text")
        unknown = set(item) - _ADVICE_KEYS
        if unknown:
            raise RuleSetError(f"{at}: unknown keys {sorted(unknown)}")
        code = _text(item.get("code"), at, "code")
        if not _ID.match(code):
            raise RuleSetError(f"{at}: code {code!r} must be lower_snake_case")
        source = _text(item["source"], at, "source") if "source" in item else rule_source
        items.append(Advice(code, " ".join(_text(item.get("text"), at, "text").split()), source,
                            parse_condition(item.get("when"), schema, f"{at}.when")))
    return tuple(items)


def _parse_rule(raw: Any, line: str, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleSetError(f"{where}: each rule must be a mapping")
    rule_id = _text(raw.get("id"), where, "id")
    where = f"{where} ({rule_id})"
    if not _ID.match(rule_id):
        raise RuleSetError(f"{where}: id must be lower_snake_case")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RuleSetError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_RULE_KEYS)}")
    if "source" not in raw:
        raise RuleSetError(f"{where}: missing 'source' (name the guidance this rule rests on)")
    source = _text(raw.get("source"), where, "source")
    tier = raw.get("tier")
    if tier is not None and not (isinstance(tier, str) and tier in URGENCY_ORDER):
        raise RuleSetError(f"{where}: unknown tier {tier!r}; use one of {URGENCY_ORDER} or null")
    flags = raw.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) and f in LINE_FLAGS[line] for f in flags):
        raise RuleSetError(f"{where}: flags must be a list drawn from {sorted(LINE_FLAGS[line])}")
    route = raw.get("route")
    if route is not None and not (isinstance(route, str) and route in LINE_ROUTES[line]):
        raise RuleSetError(
            f"{where}: route {route!r} not allowed here (allowed: {sorted(LINE_ROUTES[line]) or 'none'})")
    exclusive = raw.get("exclusive", False)
    if not isinstance(exclusive, bool):
        raise RuleSetError(f"{where}: exclusive must be true or false")
    schema = FACT_SCHEMAS[line]
    return Rule(
        id=rule_id,
        when=parse_condition(raw.get("when"), schema, f"{where}.when"),
        tier=tier,
        flags=frozenset(flags),
        route=route,
        exclusive=exclusive,
        advice=_parse_advice(raw.get("advice"), schema, source, where),
        source=source,
    )


def _parse_params(data: Mapping, line: str, where: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: data[k] for k in LINE_PARAMS[line] if k in data}
    missing = LINE_PARAMS[line] - set(params)
    if missing:
        raise RuleSetError(f"{where}: missing settings {sorted(missing)}")
    if line == "sharps":
        for key in ("pep_window_hours", "future_tolerance_minutes"):
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise RuleSetError(f"{where}: {key} must be a non-negative number")
    if line == "manager":
        try:
            params["working_hours"] = parse_working_hours(params["working_hours"])
        except ValueError as exc:
            raise RuleSetError(f"{where}: {exc}") from None
        topics = params["physician_topics"]
        if not isinstance(topics, list) or not all(isinstance(t, str) and t.strip() for t in topics):
            raise RuleSetError(f"{where}: physician_topics must be a list of phrases")
        params["physician_topics"] = tuple(topics)
    return params


def load_ruleset(path: str | Path) -> RuleSet:
    """Read and validate one rule file; RuleSetError says exactly what is wrong."""
    path = Path(path)
    where = path.name
    match = _VERSION.match(path.stem)
    if not match or match["line"] not in FACT_SCHEMAS:
        raise RuleSetError(f"{where}: file name must be <line>-<version>.yaml with line in {sorted(FACT_SCHEMAS)}")
    line = match["line"]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleSetError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise RuleSetError(f"{where}: expected a mapping at the top level")
    unknown = set(data) - _TOP_KEYS - LINE_PARAMS[line]
    if unknown:
        raise RuleSetError(f"{where}: unknown top-level keys {sorted(unknown)}")
    if data.get("version") != path.stem:
        raise RuleSetError(f"{where}: version {data.get('version')!r} must equal the file name stem {path.stem!r}")
    if data.get("line", line) != line:
        raise RuleSetError(f"{where}: line {data.get('line')!r} does not match the file name")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleSetError(f"{where}: 'rules' must be a non-empty list")
    rules = tuple(_parse_rule(r, line, f"{where}: rule #{i + 1}") for i, r in enumerate(raw_rules))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleSetError(f"{where}: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    params = _parse_params(data, line, where)
    return RuleSet(version=path.stem, line=line, rules=rules, params=MappingProxyType(params))


def _version_key(stem: str) -> tuple[int, ...]:
    return tuple(int(p) for p in _VERSION.match(stem)["number"].split("."))  # type: ignore[index]


def available_versions(line: str, rules_dir: Path = RULES_DIR) -> tuple[str, ...]:
    """Version strings of the rule files for a line, oldest first."""
    stems = [p.stem for p in rules_dir.glob(f"{line}-*.yaml") if _VERSION.match(p.stem)]
    return tuple(sorted(stems, key=_version_key))


@functools.lru_cache(maxsize=32)
def _load_cached(path: str) -> RuleSet:
    return load_ruleset(path)


def load_rules(line: str, version: str | None = None) -> RuleSet:
    """The rule set for a line: a named version, or the newest file when version is None."""
    if version is None:
        versions = available_versions(line)
        if not versions:
            raise RuleSetError(f"no {line} rule files in {RULES_DIR}")
        version = versions[-1]
    match = _VERSION.match(version) if isinstance(version, str) else None
    # The pattern also keeps a caller-supplied version from naming a path elsewhere.
    if not match or match["line"] != line:
        raise RuleSetError(f"{version!r} is not a {line} rule version (like {line}-2026.11.1)")
    path = RULES_DIR / f"{version}.yaml"
    if not path.is_file():
        raise RuleSetError(f"unknown {line} rule version {version!r}; available: {available_versions(line)}")
    return _load_cached(str(path))


def load_sharps_rules(version: str | None = None) -> RuleSet:
    return load_rules("sharps", version)


def load_manager_rules(version: str | None = None) -> RuleSet:
    return load_rules("manager", version)


def all_rule_files(rules_dir: Path = RULES_DIR) -> Iterable[Path]:
    return sorted(rules_dir.glob("*.yaml"))
