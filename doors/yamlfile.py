"""YAML that drill writes for other programs (compose, `docker stack deploy`, Prometheus), written
so that every parser reads back the strings drill meant.

PyYAML leaves a string unquoted when YAML 1.1 would read it back as a string: `045486` (no
octal, it has an 8), `557e30` (a YAML 1.1 float needs a dot). The docker CLI reads YAML 1.2
into untyped maps, where both are numbers: a swarm stack's label `drill.run: 557e30` became
`5.57e+32` and `045486` became `45486`, so drill never found the run's containers (a 90 s
timeout; a random 6-hex id has such a shape about 1 time in 36) and could not remove the
stack it had deployed.
Every string that starts like a number, or is one of YAML's words for true, false and null,
is written in quotes: `drill.run: '557e30'`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# libyaml where PyYAML has it: the compose file is written on every `drill up`.
_BASE: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_AMBIGUOUS = re.compile(r"[0-9+\-.]|(?:y|yes|n|no|on|off|true|false|null|~)$", re.IGNORECASE)


class _Dumper(_BASE):  # type: ignore[misc]
    """The safe dumper, quoting the strings another YAML parser could read as something else."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "'" if _AMBIGUOUS.match(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(document: Any) -> str:
    """`document` as YAML, keys in their order."""
    return str(yaml.dump(document, Dumper=_Dumper, sort_keys=False))
