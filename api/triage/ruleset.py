"""Versioned rule sets: load and validate a YAML file, and match its conditions.

A rule says when it fires (a condition over derived facts, see facts.py),
what tier it sets, which flags it raises, what advice it gives and which
guidance it rests on. Changing clinical rules is a new file in rules/ named
<line>-<version>.yaml; the newest version is the current one, and older
files stay so a stored decision can be explained by the rules that made it.
load_ruleset(path) reads a shipped file; parse_ruleset(text) reads the same from text (a draft
or an upload to replay, api/services/replay.py) through the same checks, and every error
names the line of the text it is about.

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
from typing import Any, Iterable, Iterator, Mapping

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
    """A rule file is malformed; the message names the file, the line, the rule and the field.

    `line` is the 1-based line of the text the problem is on (None when the problem is not in
    the text, e.g. a bad file name); `problem` is the message with its line but without the
    file's name, which is what the author of an upload reads.
    """

    def __init__(self, message: str, *, line: int | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.name = message, line, name

    @property
    def problem(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message

    def __str__(self) -> str:
        return f"{self.name}: {self.problem}" if self.name else self.problem


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


# --- where things are in the text --------------------------------------------

_NO_KEY = object()


class Spots:
    """The 1-based line of every mapping and list a rule text was parsed into, and of each of
    their keys (a list's keys are its indexes), so an error can name the line it is about.

    Keyed by identity (plain dicts and lists stay what the schema code expects); each entry
    keeps its object alive, so an id cannot be reused while the table is in use.
    """

    def __init__(self) -> None:
        self._at: dict[int, tuple[Any, int, dict[Any, int]]] = {}

    def record(self, obj: Any, line: int, keys: dict[Any, int]) -> None:
        self._at[id(obj)] = (obj, line, keys)

    def line(self, obj: Any, key: Any = _NO_KEY) -> int | None:
        """The line of `obj`'s `key` when known, else of `obj` itself; None for data not from a text."""
        found = self._at.get(id(obj))
        if found is None or found[0] is not obj:
            return None
        if key is not _NO_KEY:
            try:
                return found[2].get(key, found[1])
            except TypeError:  # an unhashable key: the object's own line
                return found[1]
        return found[1]


NOWHERE = Spots()  # for data that did not come from a text (tests, callers of parse_condition)

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LineLoader(yaml.SafeLoader):
    """yaml.SafeLoader (the same values as yaml.safe_load) that notes where each mapping and
    list started, and refuses a key given twice in one mapping (safe_load silently keeps the
    last, so a second `when:` would quietly replace a rule's condition)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.spots = Spots()


def _located_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[dict]:
    data: dict = {}
    yield data  # the object first (as SafeLoader does), so anchors and aliases resolve to it
    merges = any(key.tag == _MERGE_TAG for key, _ in node.value)
    data.update(loader.construct_mapping(node))  # flattens `<<` merges into node.value first
    keys: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # already built: the constructor caches by node
        if key in keys and not merges:  # with a merge, an explicit key may override a merged one
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"found the key {key!r} twice", key_node.start_mark)
        keys[key] = key_node.start_mark.line + 1
    loader.spots.record(data, node.start_mark.line + 1, keys)


def _located_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> Iterator[list]:
    data: list = []
    yield data
    data.extend(loader.construct_sequence(node))
    loader.spots.record(data, node.start_mark.line + 1, {i: n.start_mark.line + 1 for i, n in enumerate(node.value)})


_LineLoader.add_constructor("tag:yaml.org,2002:map", _located_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _located_sequence)


def _yaml_error_line(exc: yaml.YAMLError, text: str) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return mark.line + 1
    position = getattr(exc, "position", None)  # a ReaderError (a character YAML does not allow)
    return text.count("\n", 0, position) + 1 if isinstance(position, int) else 1


def _yaml_error_text(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        words = "; ".join(part for part in (exc.context, exc.problem) if part)
        mark = exc.problem_mark or exc.context_mark
        return f"{words} (column {mark.column + 1})" if mark is not None else words
    return str(exc)


def read_yaml(text: str) -> tuple[Any, Spots]:
    """The text as safe_load reads it, with where each mapping and list was; YAML errors as
    RuleSetError naming the line."""
    loader: _LineLoader | None = None
    try:
        loader = _LineLoader(text)  # reads the whole text: a character YAML refuses is found here
        return loader.get_single_data(), loader.spots
    except yaml.YAMLError as exc:
        raise RuleSetError(f"not valid YAML: {_yaml_error_text(exc)}", line=_yaml_error_line(exc, text)) from None
    except RecursionError:
        raise RuleSetError("not valid YAML: nested too deeply", line=1) from None
    finally:
        if loader is not None:
            loader.dispose()


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


def parse_condition(
    raw: Any, schema: Mapping[str, frozenset | str], where: str, spots: Spots | None = None
) -> Condition:
    """Turn a YAML `when:` into tests, rejecting unknown facts, values and range keys.

    With `spots` (from a parsed text), each error names the line of the fact it is about."""
    spots = spots or NOWHERE
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, Mapping):
        raise RuleSetError(f"{where}: 'when' must be a mapping of fact: test", line=spots.line(raw))
    tests: dict[str, OneOf | Range] = {}
    for name, spec in raw.items():
        at = spots.line(raw, name)
        if not isinstance(name, str) or name not in schema:
            raise RuleSetError(f"{where}: unknown fact {name!r} (known facts: {', '.join(sorted(schema))})", line=at)
        allowed = schema[name]
        if isinstance(spec, Mapping):
            if allowed != NUMBER:
                raise RuleSetError(f"{where}: fact {name!r} is not numeric, so it cannot take a range", line=at)
            unknown = set(spec) - _RANGE_KEYS
            if unknown:
                raise RuleSetError(
                    f"{where}: fact {name!r}: unknown range keys {sorted(unknown, key=str)}; use {sorted(_RANGE_KEYS)}",
                    line=at)
            bounds = {k: spec[k] for k in ("min", "max", "above", "below") if k in spec}
            for key, bound in bounds.items():
                if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                    raise RuleSetError(f"{where}: fact {name!r}: {key} must be a number, got {bound!r}",
                                       line=spots.line(spec, key) or at)
            if not isinstance(spec.get("or_unknown", False), bool):
                raise RuleSetError(f"{where}: fact {name!r}: or_unknown must be true or false",
                                   line=spots.line(spec, "or_unknown") or at)
            if not bounds and not spec.get("or_unknown", False):
                raise RuleSetError(f"{where}: fact {name!r}: an empty range never matches", line=at)
            tests[name] = Range(**bounds, or_unknown=spec.get("or_unknown", False))
            continue
        values = tuple(spec) if isinstance(spec, list) else (spec,)
        if not values:
            raise RuleSetError(f"{where}: fact {name!r}: an empty list never matches", line=at)
        for i, value in enumerate(values):
            if value is None:
                continue
            value_at = spots.line(spec, i) if isinstance(spec, list) else at
            if allowed == NUMBER:
                raise RuleSetError(f"{where}: numeric fact {name!r} takes a range or null, not {value!r}",
                                   line=value_at or at)
            if not any(_same(value, a) for a in allowed):
                shown = ", ".join(sorted(map(str, allowed)))
                raise RuleSetError(f"{where}: fact {name!r} cannot be {value!r} (allowed: {shown}, null)",
                                   line=value_at or at)
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


def _text(value: Any, where: str, field: str, line: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleSetError(f"{where}: '{field}' must be a non-empty string", line=line)
    return value.strip()


def _parse_advice(raw: Any, schema: Mapping, rule_source: str, where: str, spots: Spots) -> tuple[Advice, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RuleSetError(f"{where}: 'advice' must be a list", line=spots.line(raw))
    items = []
    for i, item in enumerate(raw):
        at = f"{where} advice[{i}]"
        item_line = spots.line(raw, i)
        if not isinstance(item, Mapping):
            raise RuleSetError(f"{at}: expected a mapping with code and text", line=item_line)
        unknown = set(item) - _ADVICE_KEYS
        if unknown:
            first = sorted(unknown, key=str)[0]
            raise RuleSetError(f"{at}: unknown keys {sorted(unknown, key=str)}", line=spots.line(item, first))
        code = _text(item.get("code"), at, "code", spots.line(item, "code"))
        if not _ID.match(code):
            raise RuleSetError(f"{at}: code {code!r} must be lower_snake_case", line=spots.line(item, "code"))
        source = _text(item["source"], at, "source", spots.line(item, "source")) if "source" in item else rule_source
        text = _text(item.get("text"), at, "text", spots.line(item, "text"))
        items.append(Advice(code, " ".join(text.split()), source,
                            parse_condition(item.get("when"), schema, f"{at}.when", spots)))
    return tuple(items)


def _parse_rule(raw: Any, line: str, where: str, spots: Spots = NOWHERE) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleSetError(f"{where}: each rule must be a mapping")
    rule_id = _text(raw.get("id"), where, "id", spots.line(raw, "id"))
    where = f"{where} ({rule_id})"
    if not _ID.match(rule_id):
        raise RuleSetError(f"{where}: id must be lower_snake_case", line=spots.line(raw, "id"))
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        first = sorted(unknown, key=str)[0]
        raise RuleSetError(f"{where}: unknown keys {sorted(unknown, key=str)}; allowed: {sorted(_RULE_KEYS)}",
                           line=spots.line(raw, first))
    if "source" not in raw:
        raise RuleSetError(f"{where}: missing 'source' (name the guidance this rule rests on)")
    source = _text(raw.get("source"), where, "source", spots.line(raw, "source"))
    tier = raw.get("tier")
    if tier is not None and not (isinstance(tier, str) and tier in URGENCY_ORDER):
        raise RuleSetError(f"{where}: unknown tier {tier!r}; use one of {URGENCY_ORDER} or null",
                           line=spots.line(raw, "tier"))
    flags = raw.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) and f in LINE_FLAGS[line] for f in flags):
        raise RuleSetError(f"{where}: flags must be a list drawn from {sorted(LINE_FLAGS[line])}",
                           line=spots.line(raw, "flags"))
    route = raw.get("route")
    if route is not None and not (isinstance(route, str) and route in LINE_ROUTES[line]):
        raise RuleSetError(
            f"{where}: route {route!r} not allowed here (allowed: {sorted(LINE_ROUTES[line]) or 'none'})",
            line=spots.line(raw, "route"))
    exclusive = raw.get("exclusive", False)
    if not isinstance(exclusive, bool):
        raise RuleSetError(f"{where}: exclusive must be true or false", line=spots.line(raw, "exclusive"))
    schema = FACT_SCHEMAS[line]
    return Rule(
        id=rule_id,
        when=parse_condition(raw.get("when"), schema, f"{where}.when", spots),
        tier=tier,
        flags=frozenset(flags),
        route=route,
        exclusive=exclusive,
        advice=_parse_advice(raw.get("advice"), schema, source, where, spots),
        source=source,
    )


def _parse_params(data: Mapping, line: str, spots: Spots) -> dict[str, Any]:
    params: dict[str, Any] = {k: data[k] for k in LINE_PARAMS[line] if k in data}
    missing = LINE_PARAMS[line] - set(params)
    if missing:
        raise RuleSetError(f"missing settings {sorted(missing)}")
    if line == "sharps":
        for key in ("pep_window_hours", "future_tolerance_minutes"):
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise RuleSetError(f"{key} must be a non-negative number", line=spots.line(data, key))
    if line == "manager":
        try:
            params["working_hours"] = parse_working_hours(params["working_hours"])
        except ValueError as exc:
            raise RuleSetError(str(exc), line=spots.line(data, "working_hours")) from None
        topics = params["physician_topics"]
        if not isinstance(topics, list) or not all(isinstance(t, str) and t.strip() for t in topics):
            raise RuleSetError("physician_topics must be a list of phrases", line=spots.line(data, "physician_topics"))
        params["physician_topics"] = tuple(topics)
    return params


def _version_of(data: Mapping, spots: Spots, *, line: str | None, version: str | None) -> str:
    """The file's version, checked: the file name's stem when one is given, else any
    <line>-<number> for a known line (and for `line`, when the caller names one)."""
    raw = data.get("version")
    at = spots.line(data, "version")
    if version is not None and raw != version:
        raise RuleSetError(f"version {raw!r} must equal the file name stem {version!r}", line=at)
    match = _VERSION.fullmatch(raw) if isinstance(raw, str) else None
    if not match or match["line"] not in FACT_SCHEMAS:
        example = f"{line or 'sharps'}-2027.1.1"
        raise RuleSetError(f"version {raw!r} must be <line>-<number> like {example!r}, with the line one of "
                           f"{sorted(FACT_SCHEMAS)}", line=at)
    if line is not None and match["line"] != line:
        raise RuleSetError(f"version {raw!r} is a {match['line']} rule file, not a {line} one", line=at)
    return raw


def _parse_document(data: Any, spots: Spots, *, line: str | None, version: str | None) -> RuleSet:
    top = spots.line(data) or 1
    named_by = "the file name" if version is not None else "the version"
    if not isinstance(data, Mapping):
        raise RuleSetError("expected a mapping at the top level", line=top)
    try:
        version = _version_of(data, spots, line=line, version=version)
        line = _VERSION.fullmatch(version)["line"]  # type: ignore[index]
        if len(version) > 40:  # Case.rule_version keeps 40 characters
            raise RuleSetError(f"version {version!r} is longer than 40 characters", line=spots.line(data, "version"))
        unknown = set(data) - _TOP_KEYS - LINE_PARAMS[line]
        if unknown:
            first = sorted(unknown, key=str)[0]
            raise RuleSetError(f"unknown top-level keys {sorted(unknown, key=str)}", line=spots.line(data, first))
        if data.get("line", line) != line:
            raise RuleSetError(f"line {data.get('line')!r} does not match {named_by}", line=spots.line(data, "line"))
        raw_rules = data.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            raise RuleSetError("'rules' must be a non-empty list", line=spots.line(data, "rules"))
        rules: list[Rule] = []
        first_at: dict[str, int] = {}
        for i, raw in enumerate(raw_rules):
            try:
                rule = _parse_rule(raw, line, f"rule #{i + 1}", spots)
                if rule.id in first_at:
                    raise RuleSetError(f"rule #{i + 1} ({rule.id}): duplicate rule id {rule.id!r} (rule "
                                       f"#{first_at[rule.id]} has it too)", line=spots.line(raw, "id"))
            except RuleSetError as exc:
                exc.line = exc.line or spots.line(raw_rules, i)  # at least the rule's own line
                raise
            first_at[rule.id] = i + 1
            rules.append(rule)
        params = _parse_params(data, line, spots)
    except RuleSetError as exc:
        exc.line = exc.line or top
        raise
    return RuleSet(version=version, line=line, rules=tuple(rules), params=MappingProxyType(params))


def parse_ruleset(
    text: str, *, line: str | None = None, name: str = "<upload>", version: str | None = None
) -> RuleSet:
    """Read and validate the text of a rule file (a shipped file, a draft, an upload).

    The version comes from the text's `version:` key and must be <line>-<number> for a known
    line; with `line`, it must be that line's (a manager file is not a sharps candidate); with
    `version` (a file's name), it must be exactly that. Every RuleSetError names the line of
    the text it is about (`.line`, and "line N:" in its message) and the file as `name`.
    """
    try:
        data, spots = read_yaml(text)
        return _parse_document(data, spots, line=line, version=version)
    except RuleSetError as exc:
        exc.name = name
        raise


def load_ruleset(path: str | Path) -> RuleSet:
    """Read and validate one rule file (named <line>-<version>.yaml, its version the same);
    RuleSetError says exactly what is wrong, and on which line."""
    path = Path(path)
    match = _VERSION.match(path.stem)
    if not match or match["line"] not in FACT_SCHEMAS:
        raise RuleSetError(f"file name must be <line>-<version>.yaml with line in {sorted(FACT_SCHEMAS)}",
                           name=path.name)
    return parse_ruleset(path.read_text(encoding="utf-8"), line=match["line"], name=path.name, version=path.stem)


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
