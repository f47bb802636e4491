"""A small IAM policy evaluator: identity policies, explicit denies, wildcards and condition operators.

Why our own and not moto's: moto's IAM enforcement (`INITIAL_NO_AUTH_ACTION_COUNT`) authorizes most
services against resource `*`, so it cannot tell a grant on the wrong table or index from the right
one, and it knows no SES condition keys. This evaluator follows AWS's documented logic for one
account: an explicit Deny wins, else an Allow whose Action, Resource and every Condition match,
else an implicit deny. Anything it does not understand (an operator, NotPrincipal in an identity
policy) raises PolicyNotUnderstood instead of guessing: a check that guesses would let a bad
template through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any


class PolicyNotUnderstood(ValueError):
    """A policy uses something this evaluator does not implement; extend it rather than ignore it."""


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list, as a list (none: empty)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@cache
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    # IAM wildcards: * any run of characters (also across ':' and '/'), ? exactly one.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{regex}$", re.IGNORECASE if ignore_case else 0)


def matches(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    """True if `value` matches the IAM pattern `glob` (`*` and `?` wildcards)."""
    return bool(_pattern(glob, ignore_case).match(value))


@dataclass(frozen=True)
class Request:
    """One authorization AWS makes: an action on a resource, with the request's condition keys.

    `resources` holds alternatives: the request is allowed if any one of them is (SES authorizes a
    send on the identity actually used, which is the address's own identity or its domain's).
    """

    action: str
    resources: tuple[str, ...]
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)

    @property
    def resource(self) -> str:
        return self.resources[0]


@dataclass(frozen=True)
class Statement:
    """One statement of an identity policy, with its intrinsic functions already resolved."""

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sid: str = ""
    source: str = ""  # the policy it came from, for messages and the unused-grant report

    @classmethod
    def parse(cls, raw: Mapping[str, Any], source: str = "") -> Statement:
        """A statement from its JSON shape; raises PolicyNotUnderstood for what is not implemented."""
        if "Principal" in raw or "NotPrincipal" in raw:
            raise PolicyNotUnderstood(f"{source}: identity policies name no Principal")
        effect = raw.get("Effect")
        if effect not in {"Allow", "Deny"}:
            raise PolicyNotUnderstood(f"{source}: Effect must be Allow or Deny, not {effect!r}")
        statement = cls(
            effect=effect,
            actions=tuple(str(a) for a in as_list(raw.get("Action"))),
            not_actions=tuple(str(a) for a in as_list(raw.get("NotAction"))),
            resources=tuple(str(r) for r in as_list(raw.get("Resource"))),
            not_resources=tuple(str(r) for r in as_list(raw.get("NotResource"))),
            conditions=dict(raw.get("Condition") or {}),
            sid=str(raw.get("Sid", "")),
            source=source,
        )
        for operator in statement.conditions:
            _operator(operator)  # unknown operators fail when the policy is read, not when first used
        return statement

    def covers_action(self, action: str) -> bool:
        if self.not_actions:
            return not any(matches(a, action, ignore_case=True) for a in self.not_actions)
        return any(matches(a, action, ignore_case=True) for a in self.actions)

    def covers_resource(self, resource: str) -> bool:
        if self.not_resources:
            return not any(matches(r, resource) for r in self.not_resources)
        return any(matches(r, resource) for r in self.resources)

    def conditions_hold(self, context: Mapping[str, str | Sequence[str]]) -> bool:
        return all(
            _condition(operator, key, expected, context)
            for operator, block in self.conditions.items()
            for key, expected in block.items()
        )

    def applies(self, action: str, resource: str, context: Mapping[str, str | Sequence[str]]) -> bool:
        return self.covers_action(action) and self.covers_resource(resource) and self.conditions_hold(context)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    request: Request
    resource: str  # the resource the decision is about (the first alternative when denied)
    explicit_deny: Statement | None = None
    matched: Statement | None = None


def evaluate(statements: Iterable[Statement], request: Request) -> Decision:
    """Whether the statements allow the request (explicit deny > allow > implicit deny)."""
    statements = list(statements)
    deny = _first(statements, "Deny", request)
    if deny is not None:
        return Decision(False, request, deny[1], explicit_deny=deny[0])
    allow = _first(statements, "Allow", request)
    if allow is not None:
        return Decision(True, request, allow[1], matched=allow[0])
    return Decision(False, request, request.resources[0])


def _first(statements: list[Statement], effect: str, request: Request) -> tuple[Statement, str] | None:
    """The first statement of that effect applying to any of the request's resources, with it."""
    for resource in request.resources:
        for statement in statements:
            if statement.effect == effect and statement.applies(request.action, resource, request.context):
                return statement, resource
    return None


# ---- conditions ----------------------------------------------------------------------------------
_BASE_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Bool",
    "Null",
}


def _operator(name: str) -> tuple[str, str, bool]:
    """(set qualifier, base operator, if-exists) of a condition operator; raises if not implemented."""
    qualifier, _, rest = name.rpartition(":")
    if qualifier not in {"", "ForAnyValue", "ForAllValues"}:
        raise PolicyNotUnderstood(f"condition operator {name!r}")
    if_exists = rest.endswith("IfExists") and rest != "Null"
    base = rest.removesuffix("IfExists") if if_exists else rest
    if base not in _BASE_OPERATORS:
        raise PolicyNotUnderstood(f"condition operator {name!r}")
    return qualifier, base, if_exists


def _lookup(context: Mapping[str, str | Sequence[str]], key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():  # condition keys are case-insensitive
            return [value] if isinstance(value, str) else [str(v) for v in value]
    return None


def _one(base: str, expected: str, actual: str) -> bool:  # noqa: PLR0911 - one branch per operator
    if base in {"StringEquals", "ArnEquals"}:
        return actual == expected
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if base in {"StringLike", "ArnLike"}:
        return matches(expected, actual)
    if base == "Bool":
        return actual.lower() == expected.lower()
    if base in {"StringNotEquals", "ArnNotEquals"}:
        return actual != expected
    if base == "StringNotEqualsIgnoreCase":
        return actual.lower() != expected.lower()
    if base in {"StringNotLike", "ArnNotLike"}:
        return not matches(expected, actual)
    raise PolicyNotUnderstood(base)


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _condition(operator: str, key: str, expected: Any, context: Mapping[str, str | Sequence[str]]) -> bool:
    qualifier, base, if_exists = _operator(operator)
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(expected)]
    actual = _lookup(context, key)
    if base == "Null":
        return (actual is None) == (wanted[0].lower() == "true")
    if actual is None:
        # A missing key: IfExists passes, ForAllValues holds (vacuously), a plain negated operator
        # matches; anything else fails.
        return if_exists or qualifier == "ForAllValues" or (base in _NEGATED and qualifier == "")

    def hit(value: str) -> bool:
        # A negated operator matches a value none of the wanted ones excludes; others any wanted one.
        found = (_one(base, w, value) for w in wanted)
        return all(found) if base in _NEGATED else any(found)

    return _over_values(qualifier, hit, actual, (key, operator))


def _over_values(
    qualifier: str, hit: Callable[[str], bool], actual: Sequence[str], key_and_operator: tuple[str, str]
) -> bool:
    """A condition over a key's values: all of them (ForAllValues), any (ForAnyValue), else the only one."""
    if qualifier == "ForAllValues":
        return all(hit(v) for v in actual)
    if qualifier == "ForAnyValue":
        return any(hit(v) for v in actual)
    if len(actual) != 1:
        key, operator = key_and_operator
        raise PolicyNotUnderstood(f"{key} is multi-valued: use ForAnyValue or ForAllValues with {operator}")
    return hit(actual[0])
