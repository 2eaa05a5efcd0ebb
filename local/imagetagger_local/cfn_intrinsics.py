"""A small CloudFormation intrinsic-function resolver, enough for the resources the local stack builds.

Supports Ref (parameters, pseudo parameters, created resources), Fn::Sub, Fn::GetAtt (Arn, QueueUrl, QueueName),
Fn::Join, Fn::Select, Fn::Split and Fn::If/conditions that only compare parameters. A reference to a resource that
has not been created yet raises UnresolvableError so the caller can create that resource first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol


class UnresolvableError(Exception):
    """The value references something that does not exist (yet)."""


class _Created(Protocol):
    physical_ids: dict[str, str]
    arns: dict[str, str]


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class IntrinsicResolver:
    def __init__(
        self,
        template: dict[str, Any],
        stack_name: str,
        region: str,
        account_id: str,
        parameters: Mapping[str, str],
        created: _Created,
    ) -> None:
        self._template = template
        self._created = created
        self._pseudo = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::NoValue": None,
        }
        self._parameters = self._parameter_values(template.get("Parameters", {}), parameters)

    @staticmethod
    def _parameter_values(declared: dict[str, Any], given: Mapping[str, str]) -> dict[str, Any]:
        unknown = set(given) - set(declared)
        if unknown:
            raise ValueError(f"unknown template parameters: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in given:
                value: Any = given[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise ValueError(f"template parameter {name} has no default; pass it in `parameters`")
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [part.strip() for part in value.split(",")]
            elif spec.get("Type") == "Number":
                value = str(value)
            values[name] = value
        return values

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function inside `value` (dicts and lists recursively)."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, argument)
        return {
            key: resolved for key, resolved in ((k, self.resolve(v)) for k, v in value.items()) if resolved is not None
        }

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self._created.physical_ids:
            return self._created.physical_ids[name]
        if name in self._template.get("Resources", {}):
            raise UnresolvableError(f"resource {name} is not created (yet)")
        raise ValueError(f"Ref to unknown name {name}")

    def get_att(self, resource: str, attribute: str) -> str:
        if resource not in self._created.physical_ids:
            raise UnresolvableError(f"resource {resource} is not created (yet)")
        physical = self._created.physical_ids[resource]
        if attribute == "Arn":
            return self._created.arns[resource]
        if attribute == "QueueUrl":
            return physical
        if attribute == "QueueName":
            return self._created.arns[resource].rsplit(":", 1)[-1]
        raise UnresolvableError(f"attribute {resource}.{attribute} is not supported locally")

    def sub(self, argument: str | list[Any]) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                resource, attribute = name.split(".", 1)
                return self.get_att(resource, attribute)
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self._template["Conditions"][name]))


def _get_att(resolver: IntrinsicResolver, argument: list[str]) -> str:
    return resolver.get_att(argument[0], resolver.resolve(argument[1]))


def _join(resolver: IntrinsicResolver, argument: list[Any]) -> str:
    delimiter, items = argument
    return delimiter.join(str(item) for item in resolver.resolve(items))


def _select(resolver: IntrinsicResolver, argument: list[Any]) -> Any:
    index, items = argument
    return resolver.resolve(items)[int(resolver.resolve(index))]


def _split(resolver: IntrinsicResolver, argument: list[Any]) -> list[str]:
    delimiter, text = argument
    return str(resolver.resolve(text)).split(delimiter)


def _if(resolver: IntrinsicResolver, argument: list[Any]) -> Any:
    name, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(name) else when_false)


def _equals(resolver: IntrinsicResolver, argument: list[Any]) -> bool:
    left, right = (resolver.resolve(v) for v in argument)
    return str(left) == str(right)


_FUNCTIONS = {
    "Ref": lambda resolver, name: resolver.ref(name),
    "Fn::Sub": lambda resolver, argument: resolver.sub(argument),
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": lambda resolver, argument: not resolver.resolve(argument[0]),
    "Condition": lambda resolver, name: resolver.condition(name),
}
