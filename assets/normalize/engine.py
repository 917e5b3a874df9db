"""The one engine behind every normalizer: an endpoint's fields as a table, applied to a page at once.

A table lists, in the order their reasons are written, what to read and how to judge it:

- :class:`Field` — a source field, its parser, the column it lands in and the :class:`Rule` that turns
  a missing or malformed value into a quarantine reason;
- :class:`Nested` — a nested object whose fields the later entries read as ``name.field``;
- :class:`Check` — a rule across fields parsed before it (an end before its start).

Every parser works on a whole column (see :mod:`assets.normalize.parsers`), so a table costs one
vectorized pass per field, however many records the page holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize.frames import Normalized, empty_as, finish_counted
from assets.normalize.parsers import Parsed
from assets.normalize.quarantine import Issues, quarantine_issues, quarantine_repeats
from assets.normalize.records import field, sub_objects

Parser = Callable[[Sequence[Any]], Parsed]


class Rule(NamedTuple):
    """The reasons a field's values are rejected with (``{label}`` names the field); None: never."""

    malformed: str | None = "malformed {label}"
    missing: str | None = None

    def judge(self, parsed: Parsed, label: str, issues: Issues) -> None:
        if self.malformed is not None:
            issues.add(parsed.invalid, self.malformed.format(label=label))
        if self.missing is not None:
            issues.add(parsed.missing, self.missing.format(label=label))


# The field may be absent but, when present, must be well-formed.
CHECK = Rule()
# The field must be present and well-formed.
REQUIRE = Rule(missing="missing {label}")
# Parsed for a column or a later rule, never a reason to reject the record.
FREE = Rule(malformed=None)


@dataclass(frozen=True)
class Field:
    """One source field: parsed by `parser`, landed in `column` (default: the source's name).

    `label` names the field in reasons (default: the source); `null_as` fills an absent value in the
    landed column where the key wants '' rather than null (the rule still sees the parsed value).
    """

    source: str
    parser: Parser
    column: str | None = None
    rule: Rule = CHECK
    label: str | None = None
    null_as: str | None = None

    @property
    def name(self) -> str:
        return self.column or self.source


@dataclass(frozen=True)
class Nested:
    """A nested object: a value that is present but not an object is malformed, and its fields read as {}."""

    name: str


@dataclass(frozen=True)
class Check:
    """A rule across fields already parsed: `test` marks the rows rejected with `reason`."""

    reason: str
    test: Callable[[Mapping[str, Parsed]], np.ndarray]


Spec = Field | Nested | Check


class Parse(NamedTuple):
    """A table applied to a page: the parsed fields by column name, and the columns to land."""

    parsed: dict[str, Parsed]
    columns: dict[str, pa.Array]


def parse_fields(
    records: Sequence[Mapping[str, Any]],
    table: Sequence[Spec],
    issues: Issues,
    derived: Mapping[str, Sequence[Any]] | None = None,
) -> Parse:
    """Parse and judge every entry of `table` over `records`, in the table's order.

    `derived` holds raw values a caller computed itself (a value picked out of a list), read in
    place of a top-level field of that name.
    """
    nested: dict[str, list[dict[str, Any]]] = {}
    parsed: dict[str, Parsed] = {}
    columns: dict[str, pa.Array] = {}
    for spec in table:
        if isinstance(spec, Nested):
            nested[spec.name], malformed = sub_objects(records, spec.name)
            issues.add(malformed, f"malformed {spec.name}")
        elif isinstance(spec, Check):
            issues.add(spec.test(parsed), spec.reason)
        else:
            result = spec.parser(_raw(records, spec.source, nested, derived))
            spec.rule.judge(result, spec.label or spec.source, issues)
            parsed[spec.name] = result
            columns[spec.name] = result.values if spec.null_as is None else empty_as(result.values, spec.null_as)
    return Parse(parsed, columns)


def _raw(
    records: Sequence[Mapping[str, Any]],
    source: str,
    nested: Mapping[str, Sequence[Mapping[str, Any]]],
    derived: Mapping[str, Sequence[Any]] | None,
) -> list[Any]:
    if derived is not None and source in derived:
        return list(derived[source])
    parent, _, name = source.partition(".")
    if name and parent in nested:
        return field(nested[parent], name)
    return field(records, source)


def earlier(first: str, then: str) -> Callable[[Mapping[str, Parsed]], np.ndarray]:
    """A :class:`Check` test: rows where `first` is before `then` (both present)."""

    def test(parsed: Mapping[str, Parsed]) -> np.ndarray:
        before = pc.less(parsed[first].values, parsed[then].values)
        return np.asarray(pc.fill_null(before, False).to_numpy(zero_copy_only=False), dtype=bool)

    return test


def objects_of(items: Sequence[Any], issues: Issues, reason: str) -> list[dict[str, Any]]:
    """Nested list items as objects ({} for anything else, rejected with `reason`)."""
    issues.add(np.fromiter((not isinstance(item, dict) for item in items), dtype=bool, count=len(items)), reason)
    return [item if isinstance(item, dict) else {} for item in items]


def lists_of(records: Sequence[Mapping[str, Any]], name: str, issues: Issues) -> list[list[Any]]:
    """The list field `name` of each record ([] when absent; a present non-list is malformed)."""
    values = field(records, name)
    malformed = np.fromiter((v is not None and not isinstance(v, list) for v in values), dtype=bool, count=len(values))
    issues.add(malformed, f"malformed {name}")
    return [v if isinstance(v, list) else [] for v in values]


def land(
    table: str,
    records: Sequence[Any],
    issues: Issues,
    columns: Mapping[str, pa.Array],
    *,
    dates: pa.Array | None = None,
    non_objects: Sequence[Any] = (),
    keep: np.ndarray | None = None,
) -> Normalized:
    """The table's frame of the rows `keep` (default: every row without an issue), the quarantine of
    the rejected ones under `dates`, and how many records repeated another (so every record counts)."""
    frame, repeats = finish_counted(table, columns, ~issues.bad if keep is None else keep)
    quarantine = quarantine_issues(table, records, issues, dates, non_objects)
    return Normalized(frame, quarantine, repeats + quarantine_repeats(issues, quarantine, non_objects))
