"""How responders work: runbooks (Markdown, shipped in the package), hints and the autopilot."""

from __future__ import annotations

from pathlib import Path

from drills.errors import UsageError

PLAYBOOK_DIR = Path(__file__).parent


def read(name: str, drill_file: str | None = None) -> str:
    """A playbook by file name: next to the drill file first, then the built-in ones."""
    places = (
        [Path(drill_file).parent / name, Path(drill_file).parent.parent / "playbooks" / name] if drill_file else []
    ) + [PLAYBOOK_DIR / name]
    for place in places:
        if place.is_file():
            return place.read_text()
    raise UsageError(f"playbook {name!r} not found (looked in {', '.join(str(p.parent) for p in places)})")


def section(text: str, title: str) -> str:
    """The body of the `## title` section of a Markdown playbook ('' if absent)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().lower() == f"## {title}".lower():
            body = []
            for following in lines[i + 1 :]:
                if following.startswith("## "):
                    break
                body.append(following)
            return "\n".join(body).strip()
    return ""


MEASURES = "Corrective and preventative measures"


def measures(drill_playbook: str, drill_file: str) -> str:
    """The playbook's measures section for a postmortem ('' for a drill without a playbook)."""
    try:
        return section(read(drill_playbook, drill_file), MEASURES)
    except UsageError:
        return ""
