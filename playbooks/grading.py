"""Diagnoses and hints: graded against the injected fault, from the drill's definition and its
playbook. A wrong category is recorded as a red herring, with what checking it shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import playbooks
from chaos import faults
from drills.definition import Drill
from drills.errors import UsageError
from drills.loader import load_file
from playbooks.checks import CHECKS
from scoreboard.store import RunRow, Store
from scoreboard.timeline import Event, first


@dataclass(frozen=True)
class Grade:
    correct: bool
    explanation: str


def normalise(category: str) -> str:
    return category.strip().lower().replace(" ", "-").replace("_", "-")


def grade(category: str, drill: Drill, fault: str, injected: bool) -> Grade:
    """Is `category` the injected fault's root cause? Pure."""
    said = normalise(category)
    if not injected:
        return Grade(False, "nothing has been broken yet")
    cause = faults.get(fault.split("[", 1)[0]).cause  # a variant label: lb.drained[route=runtime]
    accepted = {normalise(a) for a in drill.accepted} if cause == drill.root_cause else {cause}
    if said in accepted | {cause}:
        return Grade(True, f"correct: the cause is in the {cause}")
    herring = drill.red_herrings.get(said)
    return Grade(False, herring or f"{said!r} does not explain what is observed")


def _run_and_drill(store: Store, run_id: str | None) -> tuple[RunRow, Drill]:
    row = store.active_run(run_id)
    return row, load_file(Path(row.drill_file), CHECKS, row.level or None)  # as played: its hint costs


def diagnose(store: Store, run_id: str | None, by: str, category: str, detail: str) -> tuple[Event, Grade]:
    if not normalise(category):
        raise UsageError("CATEGORY is empty: name where the cause is, e.g. balancer, database, ddos, cdn")
    row, drill = _run_and_drill(store, run_id)
    injected = first(store.events(row.run_id), "fault_injected") is not None
    verdict = grade(category, drill, row.fault, injected)
    text = f"{normalise(category)}" + (f": {detail}" if detail else "")
    if verdict.correct:
        return store.append(row.run_id, "diagnosed", by, text, {"category": normalise(category)}), verdict
    data = {"category": normalise(category), "red_herring": True}
    return store.append(row.run_id, "hypothesis", by, text, data), verdict


def hint(store: Store, run_id: str | None, by: str) -> tuple[Event, str]:
    row, drill = _run_and_drill(store, run_id)
    taken = sum(e.event == "hint" for e in store.events(row.run_id))
    if taken >= len(drill.hints):
        raise UsageError(f"no more hints: all {len(drill.hints)} taken")
    tier = drill.hints[taken]
    text = tier.text
    if drill.playbook and tier.section:
        body = playbooks.section(playbooks.read(drill.playbook, drill.source), tier.section)
        text = f"{tier.text}\n\n## {tier.section}\n{body}" if body else tier.text
    data = {"tier": taken + 1, "cost": tier.cost, "section": tier.section}
    return store.append(row.run_id, "hint", by, f"tier {taken + 1}: {tier.section}", data), text
