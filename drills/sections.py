"""A drill file's list and table sections, each read by drills.loader through one Schema."""

from __future__ import annotations

import re
from types import MappingProxyType

import yaml

from drills.definition import (
    DEFAULT_PHASES,
    REFERENCE_EVENTS,
    DrillChecks,
    Hint,
    PhaseScore,
    Recovery,
    ReferenceEntry,
    Rubric,
    Variant,
)
from drills.rules import AlertRule, RuleError, default_rules, parse_rule
from drills.schema import NULL, Fields, Schema, shape

NARRATED = (
    "stack_ready",
    "baseline_ok",
    "fault_injected",
    "alert_fired",
    "acknowledged",
    "diagnosed",
    "hypothesis",
    "mitigated",
    "resolved",
    "timeout",
    "aborted",
    "premature_resolve",
)
CLOCK_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$")
RUBRIC_COSTS = (
    "red_herring_cost",
    "premature_resolve_cost",
    "impact_per_error_pct",
    "impact_per_audience_pct",
    "no_restart_bonus",
)


def category(text: str) -> str:
    """A diagnosis category as responders are graded on it: `Load Balancer` is `load-balancer`."""
    return text.strip().lower().replace(" ", "-").replace("_", "-")


# A balancer fault is for one balancer, by its name's prefix; other faults (container.*) fit any.
FAULT_BALANCER = {"lb.": "haproxy", "nginx.": "nginx"}


def variants(
    s: Schema, top: Fields, checks: DrillChecks, replicas: tuple[str, ...], balancer: str = "haproxy"
) -> tuple[Variant, ...]:
    node = top.get("faults")
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == NULL):
        where = node if node is not None else top.node
        s.error(where, "faults", "list at least one fault, e.g. `- fault: lb.drained` (one is drawn per run)")
        return ()
    items = s.items(node, "faults", " of `- fault: NAME` entries")
    if not items and isinstance(node, yaml.SequenceNode):
        s.error(node, "faults", "list at least one fault, e.g. `- fault: lb.drained` (one is drawn per run)")
    found = tuple(_variant(s, item, f"faults[{i}]", checks, replicas) for i, item in enumerate(items))
    for i, (item, variant) in enumerate(zip(items, found, strict=True)):
        wanted = next((b for prefix, b in FAULT_BALANCER.items() if variant.fault.startswith(prefix)), balancer)
        if wanted != balancer:
            pairs = item.value if isinstance(item, yaml.MappingNode) else []
            where = next((v for k, v in pairs if getattr(k, "value", None) == "fault"), item)
            why = f"{variant.fault} is a fault of {wanted}, and stack.balancer is {balancer}"
            s.error(where, f"faults[{i}].fault", f"{why}: set stack.balancer: {wanted}, or pick a {balancer} fault")
    return found


def _variant(s: Schema, item: yaml.Node, path: str, checks: DrillChecks, replicas: tuple[str, ...]) -> Variant:
    if isinstance(item, yaml.ScalarNode) and item.tag != NULL:
        s.error(item, path, f"expected a mapping, got {item.value!r}; write `- fault: {item.value}`")
        return Variant("")
    entry = s.fields(item, path, ("fault", "params"), ", e.g. {fault: lb.drained}")
    fault = s.required(entry, "fault", "a fault's name; `drill chaos list` shows them")
    name = s.text(fault, f"{path}.fault")
    known = checks.param_names(name) if name else None
    if fault is not None and name and known is None:
        s.error(fault, f"{path}.fault", f"unknown fault {name!r}; `drill chaos list` shows them")
    if known is None:
        return Variant(name)
    nodes = s.fields(entry.get("params"), f"{path}.params", known, ", e.g. {server: app2}")
    params = {k: _param(s, v, f"{path}.params.{k}") for k, v in nodes.children.items() if k in known}
    for key, why in checks.problems(name, {k: v for k, v in params.items() if v is not None}, replicas):
        s.error(nodes.get(key) or item, f"{path}.params.{key}", why)
    return Variant(name, MappingProxyType({k: v for k, v in params.items() if v is not None}))


def _param(s: Schema, node: yaml.Node, path: str) -> str | None:
    """A fault parameter as the text the catalogue reads: `weight: 50` and `weight: "50"` alike."""
    if isinstance(node, yaml.ScalarNode) and node.tag in (
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:str",
    ):
        return str(node.value)
    if isinstance(node, yaml.ScalarNode) and node.tag != NULL:
        s.error(node, path, f'expected text or a number, got {node.value!r}; quote it: "{node.value}"')
        return None
    what = "is empty: give" if isinstance(node, yaml.ScalarNode) else f"expected one value, got {shape(node)}; give"
    s.error(node, path, f"{what} text or a number, e.g. app2 or 50 (several replicas: app2,app3)")
    return None


def rules(s: Schema, node: yaml.Node | None) -> tuple[AlertRule, ...]:
    if node is None:
        return tuple(default_rules())
    items = s.items(node, "alerts", " of {name: ..., when: ...} entries")
    if not items and isinstance(node, yaml.SequenceNode):
        s.error(node, "alerts", "list at least one alert, or leave alerts out for the default three")
    found: dict[str, AlertRule] = {}
    for i, item in enumerate(items):
        rule = _rule(s, item, f"alerts[{i}]")
        if rule is not None and rule.name in found:
            s.error(item, f"alerts[{i}].name", f"alert {rule.name!r} is already defined; give each a name of its own")
        elif rule is not None:
            found[rule.name] = rule
    return tuple(found.values())


def _rule(s: Schema, item: yaml.Node, path: str) -> AlertRule | None:
    entry = s.fields(item, path, ("name", "when", "clear"), ", e.g. {name: slow, when: ...}")
    name = s.text(s.required(entry, "name", "a short name such as high-latency"), f"{path}.name")
    when = s.text(s.required(entry, "when", "e.g. 'p95_latency_ms > 400 for 3s'"), f"{path}.when")
    clear = s.text(entry.get("clear"), f"{path}.clear") or None
    if not name or not when:
        return None
    try:
        rule = parse_rule(name, when)
    except RuleError as exc:
        s.error(entry.get("when"), f"{path}.when", str(exc))
        return None
    try:
        return parse_rule(name, when, clear) if clear else rule
    except RuleError as exc:
        s.error(entry.get("clear"), f"{path}.clear", str(exc))
        return None


def red_herrings(s: Schema, node: yaml.Node | None, accepted: tuple[str, ...]) -> MappingProxyType[str, str]:
    found: dict[str, str] = {}
    right = {category(a) for a in accepted}
    for i, item in enumerate(s.items(node, "red_herrings", " of {category: ..., says: ...} entries")):
        path = f"red_herrings[{i}]"
        entry = s.fields(item, path, ("category", "says"), ", e.g. {category: database, says: ...}")
        given = s.required(entry, "category", "the wrong place a team may look, e.g. database")
        name = s.text(given, f"{path}.category")
        says = s.text(s.required(entry, "says", "what checking it shows"), f"{path}.says")
        if category(name) in right:
            why = f"{name!r} is the root cause (root_cause.category or accepted): a red herring must be wrong"
            s.error(given, f"{path}.category", why)
        elif category(name) in found:
            s.error(given, f"{path}.category", f"{name!r} is already a red herring; say it once")
        elif name:
            found[category(name)] = says
    return MappingProxyType(found)


def hints(s: Schema, node: yaml.Node | None) -> tuple[Hint, ...]:
    found = []
    for i, item in enumerate(s.items(node, "hints", " of {cost: ..., section: ..., text: ...} entries")):
        path = f"hints[{i}]"
        entry = s.fields(item, path, ("cost", "section", "text"), ", e.g. {cost: 25, text: ...}")
        cost = s.whole(entry.get("cost"), f"{path}.cost", 0, 0, 10_000)
        text = s.text(s.required(entry, "text", "what the hint tells the team"), f"{path}.text")
        found.append(Hint(cost, s.text(entry.get("section"), f"{path}.section"), text))
    return tuple(found)


def recovery(s: Schema, node: yaml.Node | None) -> Recovery:
    entry = s.fields(node, "recovery", ("p95_ms", "error_rate", "max_share_skew", "sustain_s"))
    d = Recovery()
    return Recovery(
        s.number(entry.get("p95_ms"), "recovery.p95_ms", d.p95_ms, 1, 60_000),
        s.number(entry.get("error_rate"), "recovery.error_rate", d.error_rate, 0, 1),
        s.number(entry.get("max_share_skew"), "recovery.max_share_skew", d.max_share_skew, 0, 1),
        s.number(entry.get("sustain_s"), "recovery.sustain_s", d.sustain_s, 1, 3600),
    )


def rubric(s: Schema, node: yaml.Node | None) -> Rubric:
    entry = s.fields(node, "scoring", ("phases", *RUBRIC_COSTS))
    phases = dict(DEFAULT_PHASES)
    for name, item in s.fields(entry.get("phases"), "scoring.phases", tuple(DEFAULT_PHASES)).children.items():
        if name in phases:
            phases[name] = _phase(s, item, f"scoring.phases.{name}", DEFAULT_PHASES[name])
    base = Rubric(MappingProxyType(phases))
    costs = (s.number(entry.get(k), f"scoring.{k}", getattr(base, k), 0, 10_000) for k in RUBRIC_COSTS)
    return Rubric(base.phases, *costs)


def _phase(s: Schema, item: yaml.Node, path: str, default: PhaseScore) -> PhaseScore:
    p = s.fields(item, path, ("points", "full_s", "zero_s"), ", e.g. {points: 100, full_s: 60, zero_s: 600}")
    score = PhaseScore(
        s.number(p.get("points"), f"{path}.points", default.points, 0, 10_000),
        s.number(p.get("full_s"), f"{path}.full_s", default.full_s, 0, 86_400),
        s.number(p.get("zero_s"), f"{path}.zero_s", default.zero_s, 1, 86_400),
    )
    if score.zero_s <= score.full_s:
        s.error(item, path, f"zero_s ({score.zero_s:g}) must be greater than full_s ({score.full_s:g})")
    return score


def reference(s: Schema, node: yaml.Node | None) -> tuple[ReferenceEntry, ...]:
    found = []
    for i, item in enumerate(s.items(node, "reference_timeline", " of {at: ..., event: ..., text: ...} entries")):
        path = f"reference_timeline[{i}]"
        entry = s.fields(item, path, ("at", "event", "text"), ', e.g. {at: "14:30", event: alert_fired, text: ...}')
        at_node = s.required(entry, "at", 'the clock time in the original incident, e.g. "14:30"')
        at = s.text(at_node, f"{path}.at")
        if at and not CLOCK_TIME.match(at):
            s.error(at_node, f"{path}.at", f'expected a clock time HH:MM, e.g. "14:30", got {at!r}')
        event = s.choice(entry.get("event"), f"{path}.event", REFERENCE_EVENTS, "note")
        found.append(ReferenceEntry(at, event, s.text(entry.get("text"), f"{path}.text")))
    return tuple(found)


def narration(s: Schema, node: yaml.Node | None) -> MappingProxyType[str, str]:
    entry = s.fields(node, "narration", NARRATED)
    return MappingProxyType(
        {k: s.text(v, f"narration.{k}") for k, v in entry.children.items() if k in NARRATED},
    )
