"""Domain errors. The CLI turns each into one line and an exit code, in one place."""

from __future__ import annotations


class DrillError(Exception):
    """An error the user can act on: the message says what was wrong and what would be right."""

    exit_code = 1


class UsageError(DrillError):
    """Bad input: an argument, a file or a field."""

    exit_code = 2


class EngineUnavailable(DrillError):
    """No Docker engine to talk to."""

    exit_code = 3


class StackTimeout(DrillError):
    """A condition was not reached before its deadline; the message says what was seen."""

    exit_code = 4


class Interrupted(DrillError):
    """Ctrl-C: whatever was started has been torn down."""

    exit_code = 130


class Terminated(KeyboardInterrupt):
    """SIGTERM: end a command the way Ctrl-C does (faults reverted, stacks removed), without asking."""
