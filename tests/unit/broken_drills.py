"""The battery of broken drill files (issue #13): each is a small YAML text, the line of its
first error and how that error starts (`yaml.path: message`). tests/unit/test_broken_drills.py
loads each one, validates it and runs it through the CLI."""

from __future__ import annotations

from dataclasses import dataclass

# Four lines every case builds on; text appended starts on line 5.
BASE = "name: broken\nroot_cause: {category: balancer}\nfaults:\n  - fault: lb.drained\n"
# Three lines and a `faults:` key; fault entries appended start on line 4.
HEAD = "name: broken\nroot_cause: {category: balancer}\nfaults:\n"


@dataclass(frozen=True)
class Broken:
    id: str
    text: str | bytes
    line: int
    starts: str  # the first error after "FILE:LINE: "
    also: tuple[str, ...] = ()  # more text the whole error list must hold


def plus(text: str) -> str:
    return BASE + text


def faults(entries: str, after: str = "") -> str:
    return HEAD + entries + after


def param(fault: str, params: str) -> str:
    return faults(f"  - fault: {fault}\n    params: {params}\n")


TRACEBACKS = [
    Broken("empty-replicas", plus("stack:\n  replicas:\n"), 6, "stack.replicas: is empty: give a whole number"),
    Broken("empty-param", param("lb.weights-skew", "{weight: }"), 5, "faults[0].params.weight: is empty"),
    Broken(
        "rule-number-4.0.0",
        plus('alerts:\n  - {name: slow, when: "p95_latency_ms > 4.0.0 for 3s"}\n'),
        6,
        "alerts[0].when: rule 'slow': 'p95_latency_ms > 4.0.0 for 3s' is not '<sli> <op> <number>",
    ),
    Broken(
        "bad-date-title", plus("title: 2024-99-99\n"), 5, "title: 2024-99-99 reads as a date but is not one; quote it"
    ),
    Broken("deep-nesting", plus("summary: " + "[" * 5000 + "]" * 5000 + "\n"), 1, "drill: nested too deeply"),
    Broken(
        "keeps-going-after-an-empty-value",
        plus("stack:\n  replicas:\n  capacity: 0\ntraffic: {rps: lots}\n"),
        6,
        "stack.replicas: is empty",
        ("7: stack.capacity: must be between 1 and 1000", "8: traffic.rps: expected a number, got 'lots'"),
    ),
]

ACCEPTED_ALTHOUGH_WRONG = [
    Broken("no-name", "root_cause: {category: balancer}\nfaults:\n  - fault: lb.drained\n", 1, "name: is required"),
    Broken("name-with-slash", BASE.replace("broken", "team/broken"), 1, "name: 'team/broken' is not a slug"),
    Broken("name-with-dotdot", BASE.replace("broken", "../broken"), 1, "name: '../broken' is not a slug"),
    Broken("name-with-space", BASE.replace("broken", "my drill"), 1, "name: 'my drill' is not a slug"),
    Broken("name-empty", BASE.replace("broken", '""'), 1, "name: is empty"),
    Broken("duplicate-top-key", plus("name: again\n"), 5, "name: duplicate key: already given on line 1"),
    Broken(
        "duplicate-nested-key",
        plus("stack:\n  replicas: 3\n  replicas: 4\n"),
        7,
        "stack.replicas: duplicate key: already given on line 6",
    ),
    Broken(
        "duplicate-param", param("lb.weights-skew", "{weight: 5, weight: 6}"), 5, "faults[0].params.weight: duplicate"
    ),
    Broken(
        "server-not-in-stack",
        param("lb.weights-skew", "{server: app9}"),
        5,
        "faults[0].params.server: 'app9' is not part of the drill's stack",
    ),
    Broken(
        "servers-not-in-a-smaller-stack",
        faults("  - fault: lb.drained\n    params: {servers: 'app2,app3'}\n", "stack: {replicas: 2}\n"),
        5,
        "faults[0].params.servers: 'app3' is not part of the drill's stack",
    ),
    Broken(
        "target-not-a-service",
        param("container.latency", "{target: web}"),
        5,
        "faults[0].params.target: 'web' is not part of the drill's stack",
    ),
    Broken("unknown-route", param("lb.drained", "{route: pigeon}"), 5, "faults[0].params.route: lb.drained can go by"),
    Broken("weight-not-a-number", param("lb.weights-skew", "{weight: heavy}"), 5, "faults[0].params.weight: expected"),
    Broken("mode-not-a-choice", param("lb.drained", "{mode: sleep}"), 5, "faults[0].params.mode: expected one of"),
    Broken("rps-nan", plus("traffic: {rps: .nan}\n"), 5, "traffic.rps: expected a finite number"),
    Broken("rps-inf", plus("traffic: {rps: .inf}\n"), 5, "traffic.rps: expected a finite number"),
    Broken("rps-overflows", plus("traffic:\n  rps: 1e999\n"), 6, "traffic.rps: expected a finite number"),
    Broken("no-root-cause", "name: broken\nfaults:\n  - fault: lb.drained\n", 1, "root_cause: is required"),
    Broken(
        "root-cause-without-category",
        "name: broken\nroot_cause: {accepted: [lb]}\nfaults:\n  - fault: lb.drained\n",
        2,
        "root_cause.category: is required",
    ),
    Broken(
        "red-herring-is-the-root-cause",
        plus('red_herrings: [{category: balancer, says: "It is fine."}]\n'),
        5,
        "red_herrings[0].category: 'balancer' is the root cause",
    ),
    Broken(
        "red-herring-is-an-accepted-name",
        BASE.replace("{category: balancer}", "{category: balancer, accepted: [lb, haproxy]}")
        + 'red_herrings: [{category: HAProxy, says: "Fine."}]\n',
        5,
        "red_herrings[0].category: 'HAProxy' is the root cause",
    ),
    Broken("playbook-not-found", plus("playbook: nowhere.md\n"), 5, "playbook: playbook 'nowhere.md' not found"),
    Broken(
        "playbook-outside",
        plus("playbook: ../../etc/passwd\n"),
        5,
        "playbook: '../../etc/passwd' must be a file name",
    ),
    Broken("playbook-in-a-folder", plus("playbook: runbooks/tango.md\n"), 5, "playbook: 'runbooks/tango.md' must be"),
]

NUMBERS_AS_TEXT = [
    Broken(
        "time-unquoted",
        plus("reference_timeline:\n  - {at: 14:30, event: alert_fired, text: Latency.}\n"),
        6,
        "reference_timeline[0].at: expected text, got 14:30, which YAML reads as the number 870",
        ('quote it: at: "14:30"',),
    ),
    Broken(
        "bad-clear",
        plus('alerts:\n  - name: slow\n    when: "p95_latency_ms > 400 for 3s"\n    clear: soon\n'),
        8,
        "alerts[0].clear: rule 'slow': clear 'soon' is not",
    ),
    Broken(
        "clear-overlaps",
        plus('alerts:\n  - name: slow\n    when: "p95_latency_ms > 400 for 3s"\n    clear: "< 500 for 5s"\n'),
        8,
        "alerts[0].clear: rule 'slow': clear '< 500 for 5s' overlaps",
    ),
    Broken(
        "rps-quoted", plus('traffic: {rps: "150"}\n'), 5, "traffic.rps: expected a number, got '150'; drop the quotes"
    ),
    Broken("title-a-number", plus("title: 42\n"), 5, "title: expected text, got 42, which YAML reads as a number"),
    Broken("says-no", plus("red_herrings: [{category: db, says: no}]\n"), 5, "red_herrings[0].says: expected text"),
    Broken("summary-a-date", plus("summary: 2024-01-01\n"), 5, "summary: expected text, got 2024-01-01, which YAML"),
]

SECTIONS = [
    Broken("stack-a-list", plus("stack: [3, 2, 20]\n"), 5, "stack: expected a mapping"),
    Broken("traffic-a-word", plus("traffic: heavy\n"), 5, "traffic: expected a mapping"),
    Broken("phases-a-number", plus("phases: 10\n"), 5, "phases: expected a mapping"),
    Broken("stack-empty", plus("stack:\n"), 5, "stack: is empty"),
    Broken(
        "faults-a-mapping", HEAD.replace("faults:\n", "faults: {fault: lb.drained}\n"), 3, "faults: expected a list"
    ),
    Broken("fault-a-bare-name", faults("  - lb.drained\n"), 4, "faults[0]: expected a mapping, got 'lb.drained'"),
    Broken("faults-empty-list", HEAD.replace("faults:\n", "faults: []\n"), 3, "faults: list at least one fault"),
    Broken("faults-empty", HEAD, 3, "faults: list at least one fault"),
    Broken("no-faults", "name: broken\nroot_cause: {category: balancer}\n", 1, "faults: list at least one fault"),
    Broken("unknown-fault", faults("  - fault: lb.cha-cha\n"), 4, "faults[0].fault: unknown fault 'lb.cha-cha'"),
    Broken("fault-without-name", faults("  - params: {servers: app2}\n"), 4, "faults[0].fault: is required"),
    Broken("fault-a-number", faults("  - fault: 42\n"), 4, "faults[0].fault: expected text"),
    Broken(
        "param-misspelt",
        param("lb.weights-skew", "{wieght: 50}"),
        5,
        "faults[0].params.wieght: unknown key; did you mean 'weight'?",
    ),
    Broken("params-a-list", param("lb.weights-skew", "[server, app2]"), 5, "faults[0].params: expected a mapping"),
    Broken(
        "param-a-mapping",
        param("lb.weights-skew", "{server: {name: app2}}"),
        5,
        "faults[0].params.server: expected one",
    ),
    Broken("param-a-list", param("lb.drained", "{servers: [app2, app3]}"), 5, "faults[0].params.servers: expected one"),
    Broken("param-yes", param("lb.drained", "{mode: yes}"), 5, "faults[0].params.mode: expected text or a number"),
    Broken("top-key-misspelt", plus("stacks: {replicas: 3}\n"), 5, "stacks: unknown key; did you mean 'stack'?"),
    Broken(
        "nested-key-misspelt", plus("stack: {replica: 3}\n"), 5, "stack.replica: unknown key; did you mean 'replicas'?"
    ),
    Broken("key-a-list", plus("[a, b]: 1\n"), 5, "drill: a key must be a plain name"),
    Broken("replicas-zero", plus("stack: {replicas: 0}\n"), 5, "stack.replicas: must be between 1 and 12, got 0"),
    Broken("replicas-too-many", plus("stack: {replicas: 40}\n"), 5, "stack.replicas: must be between 1 and 12"),
    Broken("replicas-fraction", plus("stack: {replicas: 3.5}\n"), 5, "stack.replicas: expected a whole number"),
    Broken("replicas-a-word", plus("stack: {replicas: three}\n"), 5, "stack.replicas: expected a whole number"),
    Broken("capacity-negative", plus("stack: {capacity: -1}\n"), 5, "stack.capacity: must be between 1 and 1000"),
    Broken("service-ms-zero", plus("stack: {service_ms: 0}\n"), 5, "stack.service_ms: must be between 1 and"),
    Broken("rps-yes", plus("traffic: {rps: yes}\n"), 5, "traffic.rps: expected a number, got 'yes'"),
    Broken("users-zero", plus("traffic: {users: 0}\n"), 5, "traffic.users: must be between 1 and"),
    Broken("model-unknown", plus("traffic: {model: bursty}\n"), 5, "traffic.model: expected one of constant, poisson"),
    Broken("baseline-negative", plus("phases: {baseline_s: -5}\n"), 5, "phases.baseline_s: must be between 3 and"),
    Broken("time-limit-zero", plus("phases: {time_limit_s: 0}\n"), 5, "phases.time_limit_s: must be between 10 and"),
    Broken(
        "window-reversed",
        plus("phases: {inject_window_s: [30, 10]}\n"),
        5,
        "phases.inject_window_s: earliest 30 is after latest 10",
    ),
    Broken(
        "window-one-value", plus("phases: {inject_window_s: [10]}\n"), 5, "phases.inject_window_s: expected [earliest"
    ),
    Broken("window-a-number", plus("phases: {inject_window_s: 10}\n"), 5, "phases.inject_window_s: expected a list"),
    Broken(
        "window-negative",
        plus("phases:\n  inject_window_s: [-1, 10]\n"),
        6,
        "phases.inject_window_s[0]: must be between 0 and 3600",
    ),
    Broken(
        "waves-reversed",
        plus("traffic: {model: waves, waves_every_s: [20, 16]}\n"),
        5,
        "traffic.waves_every_s: shortest 20 is longer than longest 16",
    ),
    Broken(
        "waves-too-short",
        plus("traffic:\n  waves_every_s: [5, 16]\n"),
        6,
        "traffic.waves_every_s[0]: must be between 9 and 3600",
    ),
    Broken("alert-unknown-sli", plus("alerts: [{name: a, when: 'p42 > 1 for 3s'}]\n"), 5, "alerts[0].when: rule 'a'"),
    Broken("alert-without-when", plus("alerts: [{name: slow}]\n"), 5, "alerts[0].when: is required"),
    Broken(
        "alert-without-hold", plus("alerts: [{name: a, when: 'rate > 1'}]\n"), 5, "alerts[0].when: rule 'a': 'rate > 1'"
    ),
    Broken("alerts-empty", plus("alerts: []\n"), 5, "alerts: list at least one alert"),
    Broken(
        "alerts-same-name",
        plus("alerts:\n  - {name: a, when: 'rate > 1 for 3s'}\n  - {name: a, when: 'rate > 2 for 3s'}\n"),
        7,
        "alerts[1].name: alert 'a' is already defined",
    ),
    Broken("alert-a-string", plus("alerts: ['p95_latency_ms > 400 for 3s']\n"), 5, "alerts[0]: expected a mapping"),
    Broken("root-cause-a-word", BASE.replace("{category: balancer}", "balancer"), 2, "root_cause: expected a mapping"),
    Broken(
        "accepted-a-word",
        BASE.replace("{category: balancer}", "{category: balancer, accepted: lb}"),
        2,
        "root_cause.accepted: expected a list",
    ),
    Broken(
        "category-empty", BASE.replace("{category: balancer}", '{category: ""}'), 2, "root_cause.category: is empty"
    ),
    Broken("herring-says-nothing", plus("red_herrings: [{category: db}]\n"), 5, "red_herrings[0].says: is required"),
    Broken(
        "herring-twice",
        plus("red_herrings:\n  - {category: db, says: a}\n  - {category: DB, says: b}\n"),
        7,
        "red_herrings[1].category: 'DB' is already a red herring",
    ),
    Broken("herrings-a-mapping", plus("red_herrings: {db: fine}\n"), 5, "red_herrings: expected a list"),
    Broken("hint-negative-cost", plus("hints: [{cost: -5, text: Look.}]\n"), 5, "hints[0].cost: must be between 0"),
    Broken("hint-cost-a-word", plus("hints: [{cost: cheap, text: Look.}]\n"), 5, "hints[0].cost: expected a whole"),
    Broken("hint-without-text", plus("hints: [{cost: 5}]\n"), 5, "hints[0].text: is required"),
    Broken(
        "error-rate-over-one", plus("recovery: {error_rate: 2}\n"), 5, "recovery.error_rate: must be between 0 and 1"
    ),
    Broken("p95-with-unit", plus("recovery: {p95_ms: 300ms}\n"), 5, "recovery.p95_ms: expected a number, got '300ms'"),
    Broken("sustain-zero", plus("recovery: {sustain_s: 0}\n"), 5, "recovery.sustain_s: must be between 1 and"),
    Broken(
        "zero-before-full",
        plus("scoring:\n  phases:\n    detect: {points: 100, full_s: 300, zero_s: 60}\n"),
        7,
        "scoring.phases.detect: zero_s (60) must be greater than full_s (300)",
    ),
    Broken(
        "phase-misspelt",
        plus("scoring:\n  phases:\n    detection: {points: 100}\n"),
        7,
        "scoring.phases.detection: unknown key; did you mean 'detect'?",
    ),
    Broken("cost-negative", plus("scoring: {red_herring_cost: -25}\n"), 5, "scoring.red_herring_cost: must be between"),
    Broken(
        "reference-unknown-event",
        plus("reference_timeline: [{at: '14:30', event: lunch}]\n"),
        5,
        "reference_timeline[0].event: expected one of",
    ),
    Broken(
        "reference-not-a-time",
        plus("reference_timeline: [{at: noon, event: note}]\n"),
        5,
        "reference_timeline[0].at: expected a clock time HH:MM",
    ),
    Broken(
        "reference-hour-25",
        plus("reference_timeline: [{at: '25:00', event: note}]\n"),
        5,
        "reference_timeline[0].at: expected a clock time HH:MM",
    ),
    Broken("narration-misspelt", plus("narration: {alert_fire: Beep.}\n"), 5, "narration.alert_fire: unknown key; did"),
    Broken("narration-a-list", plus("narration: {alert_fired: [a, b]}\n"), 5, "narration.alert_fired: expected text"),
]

FILES = [
    Broken("tabs", plus("stack:\n\treplicas: 3\n"), 6, "drill: not valid YAML", ("indents with spaces, not tabs",)),
    Broken("unclosed-brace", plus("stack: {replicas: 3\n"), 6, "drill: not valid YAML"),
    Broken("undefined-alias", plus("title: *nope\n"), 5, "drill: not valid YAML: found undefined alias"),
    Broken("two-documents", plus("---\nname: other\n"), 5, "drill: not valid YAML"),
    Broken("empty-file", "", 1, "drill: the file is empty"),
    Broken("only-comments", "# a drill, one day\n", 1, "drill: the file is empty"),
    Broken("a-list", "- name: broken\n", 1, "drill: expected a mapping"),
    Broken("a-word", "traffic-tango\n", 1, "drill: expected a mapping"),
    Broken("not-utf-8", b"name: broken\ntitle: caf\xe9\n" + BASE.encode()[13:], 2, "drill: not UTF-8 text (byte 0xe9)"),
    Broken("unknown-tag", plus("title: !secret tango\n"), 5, "title: cannot read 'tango'"),
    Broken("python-tag", plus("title: !!python/name:os.system x\n"), 5, "title: cannot read 'x'"),
]

BATTERY = TRACEBACKS + ACCEPTED_ALTHOUGH_WRONG + NUMBERS_AS_TEXT + SECTIONS + FILES
