"""Drill files: YAML parsed once, at the edge, into drills.definition's frozen dataclasses.

Every schema error is reported at once, each with file, line and YAML path, so a team
writing its own drill fixes them in one pass (`drill validate FILE`). Built-in drills ship
in the package (drills/builtin/); teams' own come from --drills-dir (default ./drills).
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from drills.definition import (
    DEFAULT_PHASES,
    Drill,
    FaultCatalogue,
    Hint,
    PhaseScore,
    Recovery,
    ReferenceEntry,
    Rubric,
    Variant,
)
from drills.errors import UsageError
from drills.rules import RuleError, default_rules, parse_rule

BUILTIN_DIR = Path(__file__).parent  # drills/*.yaml ship in the wheel
TOP = (
    "name",
    "title",
    "summary",
    "stack",
    "traffic",
    "phases",
    "faults",
    "alerts",
    "root_cause",
    "red_herrings",
    "hints",
    "recovery",
    "scoring",
    "reference_timeline",
    "narration",
    "playbook",
)


class DrillFileError(UsageError):
    """A drill file with schema errors; str() is one line, `.errors` has them all."""

    def __init__(self, file: str, errors: list[str]) -> None:
        self.errors = errors
        more = f" (and {len(errors) - 1} more: `drill validate {file}` lists them)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}")


class Schema:
    """Walks the YAML node tree, collecting every error with its line and path."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[str] = []

    def error(self, node: yaml.Node | None, path: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.errors.append(f"{self.file}:{line}: {path}: {message}")

    def mapping(self, node: yaml.Node | None, path: str, known: tuple[str, ...]) -> dict[str, yaml.Node]:
        if node is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path, "expected a mapping (key: value lines)")
            return {}
        out = {}
        for key, value in node.value:
            name = str(key.value)
            if name not in known:
                self.error(key, f"{path}.{name}", f"unknown key; expected one of {', '.join(known)}")
            out[name] = value
        return out

    def sequence(self, node: yaml.Node | None, path: str) -> list[yaml.Node]:
        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, "expected a list")
            return []
        return list(node.value)

    def scalar(
        self,
        node: yaml.Node | None,
        path: str,
        kind: type,
        default: Any = None,
        low: float | None = None,
        high: float | None = None,
    ) -> Any:
        if node is None:
            if default is None:
                self.error(None, path, "is required")
            return default
        value: Any = yaml.safe_load(yaml.serialize(node)) if isinstance(node, yaml.ScalarNode) else None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            self.error(
                node,
                path,
                f"expected {kind.__name__}, got {node.value if isinstance(node, yaml.ScalarNode) else 'a block'!r}",
            )
            return default
        number: Any = value  # int or float here when a range is given
        if (low is not None and number < low) or (high is not None and number > high):
            self.error(node, path, f"must be between {low:g} and {high:g}, got {value}")
            return default
        return value

    def strings(self, node: yaml.Node | None, path: str) -> list[str]:
        return [str(self.scalar(item, f"{path}[{i}]", str, "")) for i, item in enumerate(self.sequence(node, path))]


def load(text: str, file: str, catalogue: FaultCatalogue) -> Drill:
    schema = Schema(file)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise DrillFileError(file, [f"{file}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    top = schema.mapping(root, "drill", TOP)
    if root is None:
        schema.error(None, "drill", "the file is empty")
    drill = _build(schema, top, file, catalogue)
    if schema.errors:
        raise DrillFileError(file, schema.errors)
    assert drill is not None
    return drill


def _build(s: Schema, top: dict[str, yaml.Node], file: str, catalogue: FaultCatalogue) -> Drill | None:
    stack = s.mapping(top.get("stack"), "stack", ("replicas", "capacity", "service_ms"))
    traffic = s.mapping(top.get("traffic"), "traffic", ("rps", "users", "model"))
    phases = s.mapping(top.get("phases"), "phases", ("baseline_s", "inject_window_s", "time_limit_s"))
    cause = s.mapping(top.get("root_cause"), "root_cause", ("category", "accepted"))
    window = s.sequence(phases.get("inject_window_s"), "phases.inject_window_s")
    if len(window) != 2 and "inject_window_s" in phases:
        s.error(
            phases["inject_window_s"], "phases.inject_window_s", "expected [earliest, latest] seconds after baseline"
        )
    earliest = s.scalar(window[0], "phases.inject_window_s[0]", float, 5.0, 0, 3600) if len(window) == 2 else 5.0
    latest = s.scalar(window[1], "phases.inject_window_s[1]", float, 20.0, 0, 3600) if len(window) == 2 else 20.0
    if earliest > latest:
        s.error(
            phases.get("inject_window_s"), "phases.inject_window_s", f"earliest {earliest:g} is after latest {latest:g}"
        )
    category = s.scalar(cause.get("category"), "root_cause.category", str, "")
    replicas = s.scalar(stack.get("replicas"), "stack.replicas", int, 3, 1, 12)
    return Drill(
        name=s.scalar(top.get("name"), "name", str, ""),
        title=s.scalar(top.get("title"), "title", str, ""),
        summary=s.scalar(top.get("summary"), "summary", str, ""),
        replicas=replicas,
        capacity=s.scalar(stack.get("capacity"), "stack.capacity", int, 8, 1, 1000),
        service_ms=s.scalar(stack.get("service_ms"), "stack.service_ms", float, 20.0, 1, 10_000),
        rps=s.scalar(traffic.get("rps"), "traffic.rps", float, 100.0, 1, 5000),
        users=s.scalar(traffic.get("users"), "traffic.users", int, 40, 1, 100_000),
        model=_choice(s, traffic.get("model"), "traffic.model", ("constant", "poisson"), "poisson"),
        baseline_s=s.scalar(phases.get("baseline_s"), "phases.baseline_s", float, 10.0, 3, 3600),
        inject_window_s=(earliest, latest),
        time_limit_s=s.scalar(phases.get("time_limit_s"), "phases.time_limit_s", float, 900.0, 10, 86_400),
        variants=_variants(s, top.get("faults"), catalogue, tuple(f"app{i}" for i in range(1, replicas + 1))),
        rules=_rules(s, top.get("alerts")),
        root_cause=category,
        accepted=tuple({category, *s.strings(cause.get("accepted"), "root_cause.accepted")} - {""}),
        red_herrings=_red_herrings(s, top.get("red_herrings")),
        hints=_hints(s, top.get("hints")),
        recovery=_recovery(s, top.get("recovery")),
        rubric=_rubric(s, top.get("scoring")),
        reference=_reference(s, top.get("reference_timeline")),
        narration=MappingProxyType(
            {
                k: str(s.scalar(v, f"narration.{k}", str, ""))
                for k, v in s.mapping(top.get("narration"), "narration", NARRATED).items()
            }
        ),
        playbook=s.scalar(top.get("playbook"), "playbook", str, ""),
        source=file,
    )


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


def _choice(s: Schema, node: yaml.Node | None, path: str, allowed: tuple[str, ...], default: str) -> str:
    value = s.scalar(node, path, str, default)
    if value not in allowed:
        s.error(node, path, f"expected one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _variants(
    s: Schema, node: yaml.Node | None, catalogue: FaultCatalogue, replicas: tuple[str, ...]
) -> tuple[Variant, ...]:
    found = []
    items = s.sequence(node, "faults")
    if not items:
        s.error(node, "faults", "list at least one fault (a pool: one is drawn per run)")
    for i, item in enumerate(items):
        path = f"faults[{i}]"
        entry = s.mapping(item, path, ("fault", "params"))
        name = s.scalar(entry.get("fault"), f"{path}.fault", str, "")
        known = catalogue.param_names(name) if name else None
        if name and known is None:
            s.error(entry.get("fault"), f"{path}.fault", f"unknown fault {name!r}; `drill chaos list` shows them")
        nodes = s.mapping(entry.get("params"), f"{path}.params", known or ())
        params = {k: str(s.scalar(v, f"{path}.params.{k}", str | int | float, "")) for k, v in nodes.items()}  # type: ignore[arg-type]
        if known is not None:
            for key, why in catalogue.problems(name, {k: v for k, v in params.items() if k in known}, replicas):
                s.error(nodes.get(key, item), f"{path}.params.{key}", why)
        found.append(Variant(name, MappingProxyType(params)))
    return tuple(found)


def _rules(s: Schema, node: yaml.Node | None) -> tuple[Any, ...]:
    if node is None:
        return tuple(default_rules())
    rules = []
    for i, item in enumerate(s.sequence(node, "alerts")):
        entry = s.mapping(item, f"alerts[{i}]", ("name", "when", "clear"))
        name = s.scalar(entry.get("name"), f"alerts[{i}].name", str, "")
        when = s.scalar(entry.get("when"), f"alerts[{i}].when", str, "")
        clear = s.scalar(entry.get("clear"), f"alerts[{i}].clear", str, "") or None
        try:
            rules.append(parse_rule(name, when, clear))
        except RuleError as exc:
            s.error(entry.get("when"), f"alerts[{i}].when", str(exc))
    return tuple(rules)


def _red_herrings(s: Schema, node: yaml.Node | None) -> MappingProxyType[str, str]:
    found = {}
    for i, item in enumerate(s.sequence(node, "red_herrings")):
        entry = s.mapping(item, f"red_herrings[{i}]", ("category", "says"))
        found[s.scalar(entry.get("category"), f"red_herrings[{i}].category", str, "")] = s.scalar(
            entry.get("says"), f"red_herrings[{i}].says", str, ""
        )
    return MappingProxyType(found)


def _hints(s: Schema, node: yaml.Node | None) -> tuple[Hint, ...]:
    found = []
    for i, item in enumerate(s.sequence(node, "hints")):
        entry = s.mapping(item, f"hints[{i}]", ("cost", "section", "text"))
        found.append(
            Hint(
                s.scalar(entry.get("cost"), f"hints[{i}].cost", int, 0, 0, 10_000),
                s.scalar(entry.get("section"), f"hints[{i}].section", str, ""),
                s.scalar(entry.get("text"), f"hints[{i}].text", str, ""),
            )
        )
    return tuple(found)


def _recovery(s: Schema, node: yaml.Node | None) -> Recovery:
    entry = s.mapping(node, "recovery", ("p95_ms", "error_rate", "max_share_skew", "sustain_s"))
    d = Recovery()
    return Recovery(
        s.scalar(entry.get("p95_ms"), "recovery.p95_ms", float, d.p95_ms, 1, 60_000),
        s.scalar(entry.get("error_rate"), "recovery.error_rate", float, d.error_rate, 0, 1),
        s.scalar(entry.get("max_share_skew"), "recovery.max_share_skew", float, d.max_share_skew, 0, 1),
        s.scalar(entry.get("sustain_s"), "recovery.sustain_s", float, d.sustain_s, 1, 3600),
    )


def _rubric(s: Schema, node: yaml.Node | None) -> Rubric:
    keys = (
        "phases",
        "red_herring_cost",
        "premature_resolve_cost",
        "impact_per_error_pct",
        "impact_per_audience_pct",
        "no_restart_bonus",
    )
    entry = s.mapping(node, "scoring", keys)
    phases = dict(DEFAULT_PHASES)
    for name, item in s.mapping(entry.get("phases"), "scoring.phases", tuple(DEFAULT_PHASES)).items():
        path = f"scoring.phases.{name}"
        p = s.mapping(item, path, ("points", "full_s", "zero_s"))
        d = DEFAULT_PHASES[name]
        phases[name] = PhaseScore(
            s.scalar(p.get("points"), f"{path}.points", float, d.points, 0, 10_000),
            s.scalar(p.get("full_s"), f"{path}.full_s", float, d.full_s, 0, 86_400),
            s.scalar(p.get("zero_s"), f"{path}.zero_s", float, d.zero_s, 1, 86_400),
        )
        if phases[name].zero_s <= phases[name].full_s:
            s.error(item, path, "zero_s must be greater than full_s")
    base = Rubric(MappingProxyType(phases))
    costs = (s.scalar(entry.get(k), f"scoring.{k}", float, getattr(base, k), 0, 10_000) for k in keys[1:])
    return Rubric(base.phases, *costs)


def _reference(s: Schema, node: yaml.Node | None) -> tuple[ReferenceEntry, ...]:
    found = []
    for i, item in enumerate(s.sequence(node, "reference_timeline")):
        entry = s.mapping(item, f"reference_timeline[{i}]", ("at", "event", "text"))
        found.append(
            ReferenceEntry(
                str(s.scalar(entry.get("at"), f"reference_timeline[{i}].at", str, "")),
                s.scalar(entry.get("event"), f"reference_timeline[{i}].event", str, "note"),
                s.scalar(entry.get("text"), f"reference_timeline[{i}].text", str, ""),
            )
        )
    return tuple(found)


def builtin_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.yaml"))}


def find(name_or_path: str, drills_dir: Path | None = None) -> Path:
    """A drill by file path, by name in --drills-dir (default ./drills), or built in."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    for folder in (drills_dir or Path("drills"),):
        for suffix in (".yaml", ".yml"):
            if (folder / f"{name_or_path}{suffix}").is_file():
                return folder / f"{name_or_path}{suffix}"
    if name_or_path in builtin_files():
        return builtin_files()[name_or_path]
    known = sorted(set(builtin_files()) | set(available(drills_dir)))
    raise UsageError(f"DRILL {name_or_path!r} is not a drill file or a known drill; known: {', '.join(known)}")


def available(drills_dir: Path | None = None) -> dict[str, Path]:
    folder = drills_dir or Path("drills")
    own = {p.stem: p for p in sorted(folder.glob("*.y*ml"))} if folder.is_dir() else {}
    return {**builtin_files(), **own}


def load_file(path: Path, catalogue: FaultCatalogue) -> Drill:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc.__class__.__name__})") from None
    return load(text, str(path), catalogue)
