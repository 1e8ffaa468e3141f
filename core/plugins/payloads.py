"""Check an event payload against the ``TypedDict`` its event type declares.

``emit`` runs the check when ``BAYLINE_CHECK_EVENT_PAYLOADS`` is set (the test default), so every test
that emits an event also proves the payload matches what the hook reference documents.
"""
from __future__ import annotations

import types
import typing
from typing import Any


def payload_problems(payload_type: type, payload: dict[str, Any]) -> list[str]:
    """What is wrong with ``payload`` for ``payload_type`` (empty when it matches). A plain ``dict``
    payload type (an event registered by name only) accepts anything."""
    if payload_type is dict or not typing.is_typeddict(payload_type):
        return []
    hints = typing.get_type_hints(payload_type)
    required: frozenset[str] = getattr(payload_type, "__required_keys__", frozenset(hints))
    problems = [f"missing key {key!r}" for key in sorted(required - set(payload))]
    problems += [f"undeclared key {key!r}" for key in sorted(set(payload) - set(hints))]
    for key, hint in hints.items():
        if key in payload and not _matches(payload[key], hint):
            problems.append(f"{key!r}: {payload[key]!r} is not {hint}")
    return problems


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if origin in (list, tuple, set, frozenset):
        if not isinstance(value, origin):
            return False
        return not args or all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)
