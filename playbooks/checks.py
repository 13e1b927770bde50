"""What drills.loader checks beyond the file itself (drills.definition.DrillChecks), handed in
by the caller so that `drills` imports nothing of ours: the fault catalogue's answers, and
whether the drill's playbook is where `drill hint` and the postmortem will look for it."""

from __future__ import annotations

from collections.abc import Mapping

import playbooks
from chaos.faults import CHECKER
from drills.errors import UsageError


class Checks:
    def param_names(self, fault: str) -> tuple[str, ...] | None:
        return CHECKER.param_names(fault)

    def problems(self, fault: str, params: Mapping[str, str], replicas: tuple[str, ...]) -> list[tuple[str, str]]:
        return CHECKER.problems(fault, params, replicas)

    def playbook_problem(self, name: str, drill_file: str) -> str | None:
        """None when `name` is found as playbooks.read finds it: next to the drill file, in
        ../playbooks/ beside it, or built in. Only a file name: never a path out of those."""
        if "/" in name or "\\" in name or ".." in name:
            return f"{name!r} must be a file name such as my-drill.md (no / or ..): kept next to the drill file"
        try:
            playbooks.read(name, drill_file)
        except UsageError as exc:
            return f"{exc}; give the file name of a Markdown playbook"
        except (OSError, UnicodeDecodeError) as exc:
            return f"playbook {name!r} cannot be read as UTF-8 text ({exc.__class__.__name__})"
        return None


CHECKS = Checks()
