"""A stack brought up by the real provisioning steps on the fake doors (doors.fakes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaos.target import Target
from doors.fakes import FakeClock, FakeRuntime, fake_doors
from doors.kit import Doors
from stack import provision
from stack.handle import RunStack, open_stack
from stack.spec import IMAGES, StackSpec


@dataclass
class FakeStack:
    doors: Doors
    runtime: FakeRuntime
    clock: FakeClock
    stack: RunStack

    @property
    def target(self) -> Target:
        return Target(self.stack)

    @property
    def run_id(self) -> str:
        return self.stack.run_id


def up(home: Path, monkeypatch: pytest.MonkeyPatch, replicas: int = 3) -> FakeStack:
    monkeypatch.setenv("DRILL_HOME", str(home))
    clock = FakeClock()
    doors, runtime = fake_doors(clock)
    runtime.images = {tag: {"drill.image": "true"} for tag in IMAGES.values()}
    runtime.exec_answers[("db", "redis-cli")] = (0, "PONG\n")
    record = provision.up(doors, StackSpec(replicas=replicas), progress=lambda line: None)
    return FakeStack(doors, runtime, clock, open_stack(doors, record.run_id))


def every(clock: FakeClock, step: float, action: Callable[[], None]) -> None:
    """Run `action` now and every `step` seconds of fake time from now on."""

    def again() -> None:
        action()
        clock.at(clock.t + step, again)

    again()
