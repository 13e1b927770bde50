"""A game day's runs are the facilitator's: `drill chaos` on one needs the facilitator's token, and an
ended team's record (its fault) stays sealed on this machine until the whole game day is over.

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


def sealed(run_id: str, token: str | None) -> bool:
    """Is the run a game day's still in play, and the token not its facilitator's?"""
    path = _path(run_id)
    if not path.is_file():
        return False
    return not token or not hmac.compare_digest(path.read_text().strip(), _digest(token))


def check(run_id: str, token: str | None) -> None:
    """Refuse unless the run is not a game day's or the token is its facilitator's."""
    if sealed(run_id, token):
        raise UsageError(
            f"run {run_id} belongs to a game day: only its facilitator acts on it "
            "(drill --token FACILITATOR_TOKEN chaos ...)"
        )


def check_readable(run_id: str, token: str | None) -> None:
    """A game day's ended run keeps its record sealed until every team has ended: other teams may
    be playing the same fault."""
    if sealed(run_id, token):
        raise UsageError(
            f"run {run_id} belongs to a game day still in play: its record opens when every team has ended "
            "(or with the facilitator's token: drill --token FACILITATOR_TOKEN ...)"
        )
