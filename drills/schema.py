"""Walking a drill file's YAML node tree: every problem kept with its line and path, none raised.

drills.loader asks for each field by its kind (text, a number, a whole number, a mapping, a
list); a wrong value is recorded with what would be right and a default stands in for it, so
one bad field never hides the next.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import yaml
from yaml.constructor import SafeConstructor

NULL = "tag:yaml.org,2002:null"
INT = "tag:yaml.org,2002:int"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
# Numbers YAML 1.2 reads as numbers but YAML 1.1 (PyYAML) leaves as text: 1.5e2, 1e3.
NUMBER = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
# YAML 1.1 reads 14:30 as the base-60 integer 870.
SEXAGESIMAL = re.compile(r"^[-+]?[0-9]+(:[0-5]?[0-9])+$")
_MISSING = object()


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    path: str
    message: str

    def render(self, file: str) -> str:
        return f"{file}:{self.line}: {self.path}: {self.message}"


@dataclass(frozen=True)
class Fields:
    """A mapping's values by key; `node` (None when the section is absent) gives missing keys a line."""

    node: yaml.Node | None
    path: str  # "" at the top of the file
    children: Mapping[str, yaml.Node] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, key: str) -> yaml.Node | None:
        return self.children.get(key)

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def line_of(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 1


def shape(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return repr(node.value)


def _last(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


class Schema:
    """Collects every problem in one drill file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def error(self, node: yaml.Node | None, path: str, message: str) -> None:
        self.problems.append(Problem(line_of(node), path or "drill", message))

    def errors(self) -> list[str]:
        """Every problem as FILE:LINE: path: message, by line, then path."""
        return [p.render(self.file) for p in sorted(set(self.problems))]

    def fields(self, node: yaml.Node | None, path: str, known: tuple[str, ...], example: str = "") -> Fields:
        if node is None:
            return Fields(None, path)
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            self.error(node, path or "drill", "is empty: give its key: value lines, or leave it out")
            return Fields(node, path)
        if not isinstance(node, yaml.MappingNode):
            self.error(node, path or "drill", f"expected a mapping (key: value lines{example}), got {shape(node)}")
            return Fields(node, path)
        children: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            if not name:
                self.error(key, path or "drill", "a key must be a plain name")
            elif name not in known:
                self.error(key, f"{path}.{name}" if path else name, _unknown(name, known))
            children.setdefault(name, value)
        return Fields(node, path, MappingProxyType(children))

    def items(self, node: yaml.Node | None, path: str, example: str = "") -> list[yaml.Node]:
        if node is None:
            return []
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            self.error(node, path, f"is empty: give a list{example}, or leave it out")
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, path, f"expected a list{example}, got {shape(node)}")
            return []
        return list(node.value)

    def required(self, fields: Fields, key: str, what: str) -> yaml.Node | None:
        node = fields.get(key)
        if node is None:
            self.error(fields.node, fields.at(key), f"is required: {what}")
        return node

    def text(self, node: yaml.Node | None, path: str, default: str = "") -> str:
        value = self._constructed(node, path, "text")
        if value is _MISSING or node is None:
            return default
        if isinstance(value, str):
            return value
        raw = str(node.value)
        if node.tag == INT and SEXAGESIMAL.match(raw):
            reads = f"the number {value} (YAML 1.1 reads {raw} in base 60)"
        elif isinstance(value, bool):
            reads = f"{str(value).lower()}"
        else:
            reads = "a date" if node.tag == TIMESTAMP else "a number"
        hint = f'quote it: {_last(path)}: "{raw}"'
        self.error(node, path, f"expected text, got {raw}, which YAML reads as {reads}; {hint}")
        return default

    def texts(self, node: yaml.Node | None, path: str, example: str = "") -> list[str]:
        return [self.text(item, f"{path}[{i}]") for i, item in enumerate(self.items(node, path, example))]

    def number(self, node: yaml.Node | None, path: str, default: float, low: float, high: float) -> float:
        value = self._constructed(node, path, "a number")
        if value is _MISSING or node is None:
            return default
        plain = isinstance(node, yaml.ScalarNode) and not node.style  # None, or "" from libyaml
        if isinstance(value, str) and plain and NUMBER.match(value):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            quoted = "; drop the quotes" if isinstance(value, str) and NUMBER.match(value.strip()) else ""
            self.error(node, path, f"expected a number, got {node.value!r}{quoted}")
            return default
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            self.error(node, path, f"expected a finite number between {low:g} and {high:g}, got {node.value}")
            return default
        return number if self._within(node, path, number, low, high) else default

    def whole(self, node: yaml.Node | None, path: str, default: int, low: int, high: int) -> int:
        value = self._constructed(node, path, "a whole number")
        if value is _MISSING or node is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node, path, f"expected a whole number, got {node.value!r}")
            return default
        return value if self._within(node, path, value, low, high) else default

    def flag(self, node: yaml.Node | None, path: str, default: bool) -> bool:
        value = self._constructed(node, path, "true or false")
        if value is _MISSING or node is None:
            return default
        if not isinstance(value, bool):
            self.error(node, path, f"expected true or false, got {node.value!r}")
            return default
        return value

    def choice(self, node: yaml.Node | None, path: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(node, path, default)
        if value not in allowed:
            self.error(node, path, f"expected one of {', '.join(allowed)}, got {value!r}")
            return default
        return value

    def _within(self, node: yaml.Node, path: str, value: float, low: float, high: float) -> bool:
        if low <= value <= high:
            return True
        self.error(node, path, f"must be between {low:g} and {high:g}, got {node.value}")
        return False

    def _constructed(self, node: yaml.Node | None, path: str, wanted: str) -> object:
        """The scalar's value as YAML reads it, or _MISSING (and a problem) when there is none."""
        if node is None:
            return _MISSING
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, path, f"expected {wanted}, got {shape(node)}")
            return _MISSING
        if node.tag == NULL:
            self.error(node, path, f"is empty: give {wanted}")
            return _MISSING
        try:
            return SafeConstructor().construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            if node.tag == TIMESTAMP:
                message = f'{node.value} reads as a date but is not one; quote it: {_last(path)}: "{node.value}"'
            else:
                message = f"cannot read {node.value!r} ({getattr(exc, 'problem', None) or exc}); expected {wanted}"
            self.error(node, path, message)
            return _MISSING

    def duplicates(self, root: yaml.Node | None) -> None:
        """Every key given twice in one mapping, at any depth (YAML would keep the last silently)."""
        pending: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
        seen: set[int] = set()
        while pending:
            node, path = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.SequenceNode):
                pending += [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
            elif isinstance(node, yaml.MappingNode):
                self._duplicate_keys(node, path)
                keys = [str(k.value) if isinstance(k, yaml.ScalarNode) else "?" for k, _ in node.value]
                pending += [(v, f"{path}.{k}" if path else k) for k, (_, v) in zip(keys, node.value, strict=True)]

    def _duplicate_keys(self, node: yaml.MappingNode, path: str) -> None:
        first: dict[str, yaml.Node] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            name = str(key.value)
            if name in first:
                where = f"{path}.{name}" if path else name
                self.error(key, where, f"duplicate key: already given on line {line_of(first[name])}; keep one")
            else:
                first[name] = key


def _unknown(name: str, known: tuple[str, ...]) -> str:
    if not known:
        return "unknown key: this takes none"
    close = difflib.get_close_matches(name, known, n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {guess}expected one of {', '.join(known)}"
