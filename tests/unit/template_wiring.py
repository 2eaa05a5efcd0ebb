"""How template.yaml wires the state machines (read from the template itself, so tests check the real wiring)."""

from __future__ import annotations

from typing import Any

from imagetagger_local.cfn import load_template


def state_machine(logical_id: str) -> dict[str, Any]:
    return load_template()["Resources"][logical_id]


def definition_substitutions(logical_id: str) -> dict[str, Any]:
    """The DefinitionSubstitutions of one AWS::Serverless::StateMachine (values unresolved: !Ref, !GetAtt, ...)."""
    return dict(state_machine(logical_id)["Properties"].get("DefinitionSubstitutions", {}))
