"""A game day's runs are the facilitator's: `drill chaos` on one needs the facilitator's token.

The lock is a digest of the token (never the token), kept beside the runs, not in a run's
directory (a responder shell mounts the run's lb/ directory), readable by its owner only."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from drills.errors import UsageError
from stack.rundir import check_run_id, drill_home


def _path(run_id: str) -> Path:
    return drill_home() / "gameday-locks" / check_run_id(run_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lock(run_id: str, token: str) -> None:
    path = _path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(_digest(token))


def unlock(run_id: str) -> None:
    _path(run_id).unlink(missing_ok=True)


def check(run_id: str, token: str | None) -> None:
    """Refuse unless the run is not a game day's or the token is its facilitator's."""
    path = _path(run_id)
    if not path.is_file():
        return
    if not token or not hmac.compare_digest(path.read_text().strip(), _digest(token)):
        raise UsageError(
            f"run {run_id} belongs to a game day: only its facilitator acts on it "
            "(drill --token FACILITATOR_TOKEN chaos ...)"
        )
