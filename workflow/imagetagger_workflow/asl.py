"""The state machine definitions (workflow/statemachine/*.asl.json) as data: substitution and their state graph.

template.yaml wires each file with DefinitionUri + DefinitionSubstitutions; CloudFormation replaces `${Name}` textually.
`render` does the same, so tests and tools see exactly what Step Functions would run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

STATEMACHINE_DIR = Path(__file__).resolve().parents[1] / "statemachine"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9:]+)\}")


def placeholders(path: Path) -> set[str]:
    """The `${Name}` placeholders a definition file uses (AWS:: pseudo parameters included)."""
    return set(PLACEHOLDER.findall(path.read_text()))


def render(path: Path, substitutions: Mapping[str, str]) -> dict[str, Any]:
    """The definition with every placeholder replaced; KeyError names one that has no value."""

    def value(match: re.Match[str]) -> str:
        return str(substitutions[match.group(1)])

    return json.loads(PLACEHOLDER.sub(value, path.read_text()))


def iter_states(states: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, including those inside Map item processors and Parallel branches."""
    for name, state in states.items():
        yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from iter_states(processor["States"])
        for branch in state.get("Branches", []):
            yield from iter_states(branch["States"])


def transitions(state: Mapping[str, Any]) -> set[str]:
    """The states one state can hand over to: Next, Default, every Choice rule and every Catch."""
    targets = {state[key] for key in ("Next", "Default") if key in state}
    targets |= {choice["Next"] for choice in state.get("Choices", [])}
    targets |= {catcher["Next"] for catcher in state.get("Catch", [])}
    return targets


def reachable(machine: Mapping[str, Any]) -> set[str]:
    """States reachable from StartAt within one States map (each Map/Parallel body is checked on its own)."""
    seen: set[str] = set()
    pending = [machine["StartAt"]]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(transitions(machine["States"][name]))
    return seen
