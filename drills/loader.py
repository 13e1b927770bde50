"""Drill files: YAML parsed once, at the edge, into drills.definition's frozen dataclasses.

Every schema error is reported at once, each as FILE:LINE: yaml.path: what would be right,
sorted by line, so a team writing its own drill fixes them in one pass (`drill validate FILE`).
No input raises anything but DrillFileError or UsageError. Built-in drills ship in the package
(drills/*.yaml); teams' own come from --drills-dir (default ./drills).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from drills import levels
from drills.definition import WAVES_EVERY_S, Drill, DrillChecks, OwnApp
from drills.errors import UsageError
from drills.ownapp import fault_problems, own_app
from drills.schema import Fields, Schema
from drills.sections import (
    hints,
    narration,
    recovery,
    red_herrings,
    reference,
    rubric,
    rules,
    variants,
)

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
    "level",
)
SLUG = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")


class DrillFileError(UsageError):
    """A drill file with schema errors; str() is one line, `.errors` has them all."""

    def __init__(self, file: str, errors: list[str]) -> None:
        self.errors = errors
        more = f" (and {len(errors) - 1} more: `drill validate {file}` lists them)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}")


# libyaml where PyYAML was built with it: the same nodes and marks, several times faster than
# the pure-Python parser (drill files are parsed by every command that names one).
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str, file: str, checks: DrillChecks, level: str | None = None) -> Drill:
    """The drill in `text`; `level` (a name in drills.levels.LEVELS) overrides the file's `level:`."""
    schema = Schema(file)
    root = _compose(text, file)
    if root is None:
        raise DrillFileError(file, [f"{file}:1: drill: the file is empty; `drill show traffic-tango` shows a drill"])
    if not isinstance(root, yaml.MappingNode):
        got = "a list" if isinstance(root, yaml.SequenceNode) else repr(getattr(root, "value", ""))
        where = f"{file}:{root.start_mark.line + 1}: drill"
        raise DrillFileError(file, [f"{where}: expected a mapping (name: ..., faults: ...), got {got}"])
    try:
        schema.duplicates(root)
        drill = _build(schema, schema.fields(root, "", TOP), file, checks, level)
    except RecursionError:
        raise DrillFileError(file, [f"{file}:1: drill: nested too deeply to be a drill file"]) from None
    if schema.problems:
        raise DrillFileError(file, schema.errors())
    return drill


MAX_FLOW_DEPTH = 64  # no drill needs more; PyYAML takes quadratic time to find out on its own


def _flow_depth(text: str) -> int:
    """How deep `[` and `{` nest (an upper bound: brackets inside quotes count too)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _compose(text: str, file: str) -> yaml.Node | None:
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise DrillFileError(file, [f"{file}:1: drill: nested too deeply to be a drill file"])
    try:
        return yaml.compose(text, Loader=LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        lines = text.splitlines()
        if "\\t" in problem or "\t" in (lines[line - 1] if 0 < line <= len(lines) else ""):
            problem += "; YAML indents with spaces, not tabs"
        raise DrillFileError(file, [f"{file}:{line}: drill: not valid YAML: {problem}"]) from None
    except RecursionError:
        raise DrillFileError(file, [f"{file}:1: drill: nested too deeply to be a drill file"]) from None


def _build(s: Schema, top: Fields, file: str, checks: DrillChecks, override: str | None) -> Drill:
    replicas, capacity, service_ms, queue, monitoring, app, balancer = _stack(s, top.get("stack"))
    rps, users, model, waves_every_s = _traffic(s, top.get("traffic"))
    baseline_s, window, time_limit_s = _phases(s, top.get("phases"))
    cause, accepted = _root_cause(s, top)
    written = s.choice(top.get("level"), "level", tuple(levels.LEVELS), levels.DEFAULT)
    level = levels.check(override) if override is not None else written
    drill = Drill(
        name=_name(s, top),
        title=s.text(top.get("title"), "title"),
        summary=s.text(top.get("summary"), "summary"),
        replicas=replicas,
        capacity=capacity,
        service_ms=service_ms,
        rps=rps,
        users=users,
        model=model,
        waves_every_s=waves_every_s,
        baseline_s=baseline_s,
        inject_window_s=window,
        time_limit_s=time_limit_s,
        variants=variants(s, top, checks, tuple(f"app{i}" for i in range(1, replicas + 1)), balancer),
        rules=rules(s, top.get("alerts")),
        root_cause=cause,
        accepted=accepted,
        red_herrings=red_herrings(s, top.get("red_herrings"), accepted),
        hints=hints(s, top.get("hints")),
        recovery=recovery(s, top.get("recovery")),
        rubric=rubric(s, top.get("scoring")),
        reference=reference(s, top.get("reference_timeline")),
        narration=narration(s, top.get("narration")),
        playbook=_playbook(s, top.get("playbook"), file, checks),
        source=file,
        queue=queue,
        monitoring=monitoring,
        app=app,
        balancer=balancer,
    )
    fault_problems(s, top, app)
    return levels.apply(drill, level)


def _name(s: Schema, top: Fields) -> str:
    node = s.required(top, "name", "a short slug such as weights-friday (letters, digits, dashes)")
    name = s.text(node, "name")
    if node is not None and name and not SLUG.match(name):
        s.error(node, "name", f"{name!r} is not a slug: letters, digits and single dashes, e.g. weights-friday")
    elif node is not None and not name:
        s.error(node, "name", "is empty: give a slug such as weights-friday")
    return name


# What an nginx stack does not do yet: said at its line rather than half-working.
NGINX_NOT_YET = {
    "app": "your own app runs behind HAProxy only (stack.balancer: haproxy)",
    "monitoring": "the stack's Prometheus scrapes HAProxy's exporter, which nginx has not",
}


def _stack(s: Schema, node: yaml.Node | None) -> tuple[int, int, float, int, bool, OwnApp | None, str]:
    known = ("replicas", "capacity", "service_ms", "queue", "monitoring", "app", "balancer")
    stack = s.fields(node, "stack", known)
    balancer = s.choice(stack.get("balancer"), "stack.balancer", ("haproxy", "nginx"), "haproxy")
    if balancer == "nginx":
        for key, why in NGINX_NOT_YET.items():
            if stack.get(key) is not None:
                s.error(stack.get(key), f"stack.{key}", f"{why}; with stack.balancer: nginx leave it out")
    return (
        s.whole(stack.get("replicas"), "stack.replicas", 3, 1, 12),
        s.whole(stack.get("capacity"), "stack.capacity", 8, 1, 1000),
        s.number(stack.get("service_ms"), "stack.service_ms", 20.0, 1, 10_000),
        s.whole(stack.get("queue"), "stack.queue", 32, 0, 10_000),
        s.flag(stack.get("monitoring"), "stack.monitoring", False),
        own_app(s, stack),
        balancer,
    )


def _traffic(s: Schema, node: yaml.Node | None) -> tuple[float, int, str, tuple[float, float]]:
    traffic = s.fields(node, "traffic", ("rps", "users", "model", "waves_every_s"))
    return (
        s.number(traffic.get("rps"), "traffic.rps", 100.0, 1, 5000),
        s.whole(traffic.get("users"), "traffic.users", 40, 1, 100_000),
        s.choice(traffic.get("model"), "traffic.model", ("constant", "poisson", "waves"), "poisson"),
        _waves_every(s, traffic.get("waves_every_s")),
    )


def _waves_every(s: Schema, given: yaml.Node | None) -> tuple[float, float]:
    """Seconds between two titles' starts with the waves model, [shortest, longest]. The crowd
    stays up to 8 s after a start, and lb.tango's p95 needs ~14 s to fall back: shorter than
    15 s leaves no trough between waves, longer gives fewer swings a minute."""
    path, (low, high) = "traffic.waves_every_s", WAVES_EVERY_S
    pair = s.items(given, path, " [shortest, longest]")
    if len(pair) != 2 and isinstance(given, yaml.SequenceNode):
        s.error(given, path, f"expected [shortest, longest] seconds between waves, got {len(pair)} values")
    if len(pair) == 2:
        low = s.number(pair[0], f"{path}[0]", WAVES_EVERY_S[0], 9, 3600)
        high = s.number(pair[1], f"{path}[1]", WAVES_EVERY_S[1], 9, 3600)
        if low > high:
            s.error(given, path, f"shortest {low:g} is longer than longest {high:g}: write [{high:g}, {low:g}]")
    return low, high


def _phases(s: Schema, node: yaml.Node | None) -> tuple[float, tuple[float, float], float]:
    phases = s.fields(node, "phases", ("baseline_s", "inject_window_s", "time_limit_s"))
    path = "phases.inject_window_s"
    given = phases.get("inject_window_s")
    window = s.items(given, path, " [earliest, latest]")
    if len(window) != 2 and isinstance(given, yaml.SequenceNode):
        s.error(given, path, f"expected [earliest, latest] seconds after the baseline, got {len(window)} values")
    earliest, latest = 5.0, 20.0
    if len(window) == 2:
        earliest = s.number(window[0], f"{path}[0]", earliest, 0, 3600)
        latest = s.number(window[1], f"{path}[1]", latest, 0, 3600)
        if earliest > latest:
            s.error(given, path, f"earliest {earliest:g} is after latest {latest:g}: write [{latest:g}, {earliest:g}]")
    return (
        s.number(phases.get("baseline_s"), "phases.baseline_s", 10.0, 3, 3600),
        (earliest, latest),
        s.number(phases.get("time_limit_s"), "phases.time_limit_s", 900.0, 10, 86_400),
    )


def _root_cause(s: Schema, top: Fields) -> tuple[str, tuple[str, ...]]:
    given = top.get("root_cause")
    cause = s.fields(given, "root_cause", ("category", "accepted"))
    if given is None:
        s.error(top.node, "root_cause", "is required: {category: ...}, what a right diagnosis names, e.g. balancer")
        return "", ()
    given_category = s.required(cause, "category", "what a right diagnosis names, e.g. balancer")
    category = s.text(given_category, "root_cause.category")
    if given_category is not None and not category.strip():
        s.error(given_category, "root_cause.category", "is empty: name the category, e.g. balancer")
    accepted = s.texts(cause.get("accepted"), "root_cause.accepted", " of other names for it, e.g. [lb, haproxy]")
    return category, tuple(dict.fromkeys(a for a in (category, *accepted) if a))


def _playbook(s: Schema, node: yaml.Node | None, file: str, checks: DrillChecks) -> str:
    name = s.text(node, "playbook")
    if node is not None and name:
        problem = checks.playbook_problem(name, file)
        if problem:
            s.error(node, "playbook", problem)
    return name


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


def load_file(path: Path, checks: DrillChecks, level: str | None = None) -> Drill:
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; give a drill file (.yaml)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc.__class__.__name__})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = f"byte 0x{data[exc.start]:02x}"
        raise DrillFileError(str(path), [f"{path}:{line}: drill: not UTF-8 text ({bad}); save it as UTF-8"]) from None
    return load(text, str(path), checks, level)
