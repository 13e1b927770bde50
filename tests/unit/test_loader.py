from __future__ import annotations

from pathlib import Path

import pytest

from drills import loader
from drills.definition import WAVES_EVERY_S
from drills.errors import UsageError
from playbooks.checks import CHECKS

BROKEN = """\
name: mine
stack:
  replicas: 40
  colour: blue
traffic:
  rps: lots
phases:
  inject_window_s: [30, 10]
faults:
  - fault: lb.cha-cha
  - fault: lb.weights-skew
    params: {server: app1, flavour: x}
alerts:
  - {name: slow, when: "p95 is high"}
recovery: {error_rate: 2}
root_cause: {category: balancer}
"""


def test_every_error_at_once_with_line_and_path() -> None:
    with pytest.raises(loader.DrillFileError) as caught:
        loader.load(BROKEN, "mine.yaml", CHECKS)
    errors = caught.value.errors
    expected = [
        "mine.yaml:3: stack.replicas: must be between 1 and 12",
        "mine.yaml:4: stack.colour: unknown key",
        "mine.yaml:6: traffic.rps: expected a number, got 'lots'",
        "mine.yaml:8: phases.inject_window_s: earliest 30 is after latest 10",
        "mine.yaml:10: faults[0].fault: unknown fault 'lb.cha-cha'",
        "mine.yaml:12: faults[1].params.flavour: unknown key",
        "mine.yaml:14: alerts[0].when: rule 'slow'",
        "mine.yaml:15: recovery.error_rate: must be between 0 and 1",
    ]
    assert errors == sorted(errors, key=lambda e: int(e.split(":")[1]))
    for needle in expected:
        assert any(e.startswith(needle) for e in errors), (needle, errors)
    assert "drill validate mine.yaml" in str(caught.value) and "\n" not in str(caught.value)


def test_not_yaml_and_empty() -> None:
    with pytest.raises(loader.DrillFileError, match=r"x.yaml:2: drill: not valid YAML"):
        loader.load("name: a\n  b: [\n", "x.yaml", CHECKS)
    with pytest.raises(loader.DrillFileError, match="the file is empty"):
        loader.load("", "x.yaml", CHECKS)


def test_the_builtin_drill_is_valid_and_complete() -> None:
    drill = loader.load_file(loader.builtin_files()["traffic-tango"], CHECKS)
    assert len(drill.variants) >= 6 and drill.hints and drill.reference and drill.narration
    assert {"database", "ddos", "cdn"} <= set(drill.red_herrings)


def test_the_waves_interval_is_a_setting() -> None:
    text = "name: a\nroot_cause: {category: balancer}\nfaults: [{fault: lb.drained}]\ntraffic: {model: waves"
    assert loader.load(text + "}\n", "x.yaml", CHECKS).waves_every_s == WAVES_EVERY_S
    assert loader.load(text + ", waves_every_s: [20, 24]}\n", "x.yaml", CHECKS).waves_every_s == (20, 24)


def test_find_by_name_in_drills_dir_then_builtin(tmp_path: Path) -> None:
    own = tmp_path / "mine.yaml"
    own.write_text("name: mine\nfaults:\n  - fault: lb.drained\nroot_cause: {category: balancer}\n")
    assert loader.find("mine", tmp_path) == own
    assert loader.load_file(own, CHECKS).variants[0].fault == "lb.drained"
    assert loader.find("traffic-tango", tmp_path).name == "traffic-tango.yaml"
    with pytest.raises(UsageError, match=r"known: .*mine, missing-slots, partial-push, traffic-tango"):
        loader.find("salsa", tmp_path)
