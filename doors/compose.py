"""The one door to the compose CLI: `docker compose` where the plugin exists, else
`docker-compose` (what Debian ships). Only `up` goes through it: a stack comes down by its
label, and is inspected, through the Docker SDK (doors.engine), which is faster and gives
structured answers."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from drills.errors import DrillError, EngineUnavailable, UsageError

PORT_TAKEN = re.compile(r"(?:Bind for|listen tcp4?) (\S+?):? .*(?:already allocated|address already in use)")


@dataclass(frozen=True)
class Compose:
    argv: tuple[str, ...]

    @classmethod
    @functools.cache
    def detect(cls) -> Compose:
        for candidate in (("docker", "compose"), ("docker-compose",)):
            if shutil.which(candidate[0]) is None:
                continue
            probe = subprocess.run([*candidate, "version"], capture_output=True, text=True, timeout=30)
            if probe.returncode == 0:
                return cls(candidate)
        raise EngineUnavailable(
            "neither `docker compose` nor `docker-compose` runs: install one "
            "(`make setup` does, or `apt-get install docker-compose`)"
        )

    def _run(self, project: str, compose_file: Path, args: list[str], timeout: float) -> str:
        argv = [
            *self.argv,
            "--project-name",
            project,
            "--project-directory",
            str(compose_file.parent),
            "--file",
            str(compose_file),
            *args,
        ]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DrillError(
                f"`{' '.join(self.argv)} {args[0]}` for {project} did not finish within {timeout:.0f}s"
            ) from None
        if done.returncode != 0:
            raise _explain(project, args[0], done.stderr or done.stdout)
        return done.stdout

    def up(self, project: str, compose_file: Path, timeout: float = 180) -> None:
        self._run(project, compose_file, ["up", "--detach", "--no-build"], timeout)


def _explain(project: str, verb: str, output: str) -> DrillError:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    taken = PORT_TAKEN.search(output)
    if taken:
        return UsageError(f"port {taken.group(1)} is already in use: pick a free one with --port, or omit --port")
    return DrillError(f"compose {verb} of {project} failed: {last}")
