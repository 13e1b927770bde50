"""How responders work: runbooks, hints and the autopilot (see issue #5)."""
