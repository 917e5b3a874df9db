"""Compare raw JSON with the official SDK's declared response model, field by field.

The SDK's models are generated from Tencent's API definitions; each class declares its fields
as class annotations (``Optional[str]``, ``Optional[List[Inner]]``...). Walking those beside the
raw body finds every value whose JSON type differs from the declared one, so a mismatch is
reported with its full path rather than surfacing later as a silently mis-typed column.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Generated models keep unknown keys here; it is bookkeeping, not a field of the API.
_BOOKKEEPING = frozenset({"additional_properties"})


@dataclass
class ShapeReport:
    """Type mismatches and keys the model does not declare, each as a JSON path."""

    mismatches: list[str] = field(default_factory=list)
    # Pattern paths (``users[].uuid``), each once.
    undeclared: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._seen: set[str] = set()

    def add_undeclared(self, pattern: str) -> None:
        if pattern not in self._seen:
            self._seen.add(pattern)
            self.undeclared.append(pattern)


def declared_fields(model: type) -> dict[str, Any]:
    """The model's fields and their declared types, forward references resolved."""
    hints = typing.get_type_hints(model)
    return {name: hint for name, hint in hints.items() if name not in _BOOKKEEPING}


def is_model(hint: Any) -> bool:
    return isinstance(hint, type) and hint.__module__.startswith("wemeet_openapi.")


def _strip_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def check(model: type, raw: Any, extra: Mapping[str, Any] | None = None) -> ShapeReport:
    """Every place where ``raw`` disagrees with ``model``'s declared types (null is always allowed).

    ``extra`` declares fields the model lacks but another source documents, by pattern path
    (``participants[].uuid``) and type.
    """
    report = ShapeReport()
    _walk(model, raw, "$", "", report, extra or {})
    return report


def _join(pattern: str, key: str) -> str:
    return f"{pattern}.{key}" if pattern else key


def _walk(hint: Any, value: Any, path: str, pattern: str, report: ShapeReport, extra: Mapping[str, Any]) -> None:
    if value is None:
        return
    hint = _strip_optional(hint)
    origin = typing.get_origin(hint)
    if hint is Any or hint is object:
        return
    if is_model(hint):
        if not isinstance(value, dict):
            report.mismatches.append(f"{path}: declared {_name(hint)} (object), got {_json_type(value)} {value!r:.60}")
            return
        fields = declared_fields(hint)
        for key, item in value.items():
            at = _join(pattern, key)
            if key in fields:
                _walk(fields[key], item, f"{path}.{key}", at, report, extra)
            elif at in extra:
                _walk(extra[at], item, f"{path}.{key}", at, report, extra)
            else:
                report.add_undeclared(at)
        return
    if origin in (list, typing.List):  # noqa: UP006 - the SDK spells it typing.List
        if not isinstance(value, list):
            report.mismatches.append(f"{path}: declared {_name(hint)}, got {_json_type(value)} {value!r:.60}")
            return
        (inner,) = typing.get_args(hint) or (Any,)
        for index, item in enumerate(value):
            _walk(inner, item, f"{path}[{index}]", f"{pattern}[]", report, extra)
        return
    if origin in (dict, typing.Dict) or hint is dict:  # noqa: UP006
        if not isinstance(value, dict):
            report.mismatches.append(f"{path}: declared {_name(hint)}, got {_json_type(value)} {value!r:.60}")
        return
    if not _scalar_fits(hint, value):
        report.mismatches.append(f"{path}: declared {_name(hint)}, got {_json_type(value)} {value!r:.60}")


def _scalar_fits(hint: Any, value: Any) -> bool:
    # JSON has one number type: an integral value fits a float field, never the other way round.
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    raise TypeError(f"the SDK declares a type the checker does not know: {hint!r}; teach _scalar_fits about it")
