"""HAProxy config as data: sections, server lines and line-level patches. Pure, no I/O.

Faults change the balancer the way a person would, by editing lines of its config file;
the audit reads the same model. A Patch keeps each touched line's own line ending and
has an exact inverse, so a fault's change and its undo are both printable diffs.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from chaos import hapkeywords

SECTION_KEYWORDS = (
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "resolvers",
    "peers",
    "userlist",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
    "log-forward",
    "fcgi-app",
    "crt-store",
    "traces",
    "acme",
)
SERVER_FLAGS = hapkeywords.SERVER_FLAGS


def comment_start(line: str) -> int | None:
    """Index of the `#` that starts the line's comment (not one inside quotes), or None."""
    quote = ""
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return i
    return None


def tokenize(line: str) -> list[str]:
    """Words of a config line, as HAProxy splits them: whitespace, quotes, `#` comments."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    in_word = False
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and i + 1 < len(line):
                current.append(line[i : i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
            else:
                current.append(ch)
        elif ch in "\"'":
            quote, in_word = ch, True
        elif ch == "#":
            break
        elif ch.isspace():
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        elif ch == "\\" and i + 1 < len(line):
            current.append(line[i + 1])
            in_word = True
            i += 1
        else:
            current.append(ch)
            in_word = True
        i += 1
    if in_word:
        words.append("".join(current))
    return words


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, as editors and the audit report it
    text: str  # without its line ending
    words: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    kind: str
    name: str
    header: Line | None  # None for lines before the first section
    lines: tuple[Line, ...]

    def directives(self, keyword: str) -> list[Line]:
        return [line for line in self.lines if line.words and line.words[0] == keyword]

    def first(self, keyword: str) -> Line | None:
        found = self.directives(keyword)
        return found[-1] if found else None  # HAProxy: the last one wins


@dataclass(frozen=True)
class Server:
    name: str
    address: str
    port: int | None
    options: dict[str, str]  # option -> value ("" for flags such as check)
    line: Line
    count: int = 1  # servers the line stands for (a server-template's count)

    def has(self, option: str) -> bool:
        return option in self.options


@dataclass(frozen=True)
class Config:
    text: str
    sections: tuple[Section, ...]

    def sections_of(self, *kinds: str) -> list[Section]:
        return [s for s in self.sections if s.kind in kinds]

    def section(self, kind: str, name: str) -> Section | None:
        return next((s for s in self.sections if s.kind == kind and s.name == name), None)

    def defaults_for(self, section: Section) -> Section | None:
        """The `defaults` section in force for `section`: the last one above it."""
        found = None
        for candidate in self.sections:
            if candidate is section:
                return found
            if candidate.kind == "defaults":
                found = candidate
        return found

    @property
    def lines(self) -> list[Line]:
        return [line for s in self.sections for line in ((s.header,) if s.header else ()) + s.lines]


def parse(text: str) -> Config:
    sections: list[Section] = []
    kind, name, header, body = "", "", None, []  # type: ignore[var-annotated]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = Line(number, raw, tuple(tokenize(raw)))
        if line.words and line.words[0] in SECTION_KEYWORDS:  # at any indentation, as HAProxy reads it
            if header is not None or body:
                sections.append(Section(kind, name, header, tuple(body)))
            kind, name, header, body = line.words[0], (line.words[1] if len(line.words) > 1 else ""), line, []
        else:
            body.append(line)
    if header is not None or body:
        sections.append(Section(kind, name, header, tuple(body)))
    return Config(text, tuple(sections))


def _options(words: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if hapkeywords.takes_argument(word) and i + 1 < len(words):
            options[word] = words[i + 1]
            i += 2
        else:  # a flag, an unknown word or a keyword missing its argument (the audit reports the last two)
            options[word] = ""
            i += 1
    return options


def _address(value: str) -> tuple[str, int | None]:
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return value, None


def default_server(config: Config, section: Section) -> dict[str, str]:
    """Options of `default-server` in force for servers of `section` (defaults, then own)."""
    merged: dict[str, str] = {}
    defaults = config.defaults_for(section)
    for scope in (defaults, section):
        if scope is not None:
            for line in scope.directives("default-server"):
                merged |= _options(list(line.words[1:]))
    return merged


def servers(config: Config, section: Section) -> list[Server]:
    """The section's servers with `default-server` options merged in; server-template expanded."""
    inherited = default_server(config, section)
    found: list[Server] = []
    for line in section.lines:
        words = list(line.words)
        if len(words) >= 3 and words[0] == "server":
            host, port = _address(words[2])
            found.append(Server(words[1], host, port, inherited | _options(words[3:]), line))
        elif len(words) >= 4 and words[0] == "server-template":
            host, port = _address(words[3])
            for n in _template_numbers(words[2]):
                found.append(Server(f"{words[1]}{n}", host, port, inherited | _options(words[4:]), line))
    return found


def server_lines(config: Config, section: Section) -> list[Server]:
    """One Server per `server` / `server-template` line (count = the template's size), for the audit:
    a template of 100,000 slots is one line to judge, not 100,000 servers."""
    inherited = default_server(config, section)
    found: list[Server] = []
    for line in section.lines:
        words = list(line.words)
        if len(words) >= 3 and words[0] == "server":
            host, port = _address(words[2])
            found.append(Server(words[1], host, port, inherited | _options(words[3:]), line))
        elif len(words) >= 4 and words[0] == "server-template":
            host, port = _address(words[3])
            count = len(_template_numbers(words[2]))
            found.append(Server(words[1], host, port, inherited | _options(words[4:]), line, count))
    return found


def _template_numbers(spec: str) -> range:
    low, sep, high = spec.partition("-")
    if sep and low.isdigit() and high.isdigit():
        return range(int(low), int(high) + 1)
    return range(1, int(spec) + 1) if spec.isdigit() else range(0)


# Patches ---------------------------------------------------------------------


@dataclass(frozen=True)
class Hunk:
    """Replace `old` lines starting at 0-based `index` with `new` lines (each with its ending)."""

    index: int
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class Patch:
    hunks: tuple[Hunk, ...] = field(default_factory=tuple)

    def apply(self, text: str) -> str:
        lines = text.splitlines(keepends=True)
        for hunk in sorted(self.hunks, key=lambda h: h.index, reverse=True):
            current = tuple(lines[hunk.index : hunk.index + len(hunk.old)])
            if current != hunk.old:
                raise ValueError(
                    f"patch does not apply at line {hunk.index + 1}: expected {hunk.old!r}, found {current!r}"
                )
            lines[hunk.index : hunk.index + len(hunk.old)] = hunk.new
        return "".join(lines)

    def inverse(self) -> Patch:
        inverted, shift = [], 0
        for hunk in sorted(self.hunks, key=lambda h: h.index):
            inverted.append(Hunk(hunk.index + shift, hunk.new, hunk.old))
            shift += len(hunk.new) - len(hunk.old)
        return Patch(tuple(inverted))

    def __bool__(self) -> bool:
        return bool(self.hunks)


def line_ending(raw_line: str) -> str:
    match = re.search(r"(\r\n|\n|\r)$", raw_line)
    return match.group(1) if match else ""


def replace_lines(text: str, changes: dict[int, str]) -> Patch:
    """A patch replacing the 1-based lines in `changes` with new text, keeping each line's ending."""
    raw = text.splitlines(keepends=True)
    hunks = []
    for number, new in sorted(changes.items()):
        old = raw[number - 1]
        if new != old.rstrip("\r\n"):
            hunks.append(Hunk(number - 1, (old,), (new + line_ending(old),)))
    return Patch(tuple(hunks))


def unified_diff(before: str, after: str, path: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"{path} (now)", f"{path} (after)", n=1
        )
    )


def set_server_option(text: str, option: str, value: str | None) -> str:
    """A server (or default-server) line with `option` set to `value` ("" for a flag), or
    removed (None). Keeps the line's indentation and trailing comment; replaces an old value."""
    indent = text[: len(text) - len(text.lstrip())]
    start = comment_start(text)
    comment = "  " + text[start:] if start is not None else ""
    words = tokenize(text)
    out: list[str] = words[:3] if words[0] == "server" else words[:1]
    rest_words = words[len(out) :]
    i = 0
    while i < len(rest_words):
        word = rest_words[i]
        takes_value = hapkeywords.takes_argument(word) and i + 1 < len(rest_words)
        if word == option:
            i += 2 if takes_value else 1
            continue
        out.extend(rest_words[i : i + (2 if takes_value else 1)])
        i += 2 if takes_value else 1
    if value is not None:
        out.extend([option, value] if value else [option])
    return indent + " ".join(_quote(w) for w in out) + comment


def _quote(word: str) -> str:
    return f'"{word}"' if (not word or any(c.isspace() for c in word)) else word
