"""Per-column policy for personal data: keep it, replace it by a keyed hash, or drop it.

Pure pandas: the caller supplies the policy and the deployment's salt; nothing here reads files or
the environment. A hashed value is ``HMAC-SHA256(salt, value as UTF-8)`` in lower-case hex, so the
same person hashes the same in every table and every run of one deployment (joins and distinct
counts still work) while nobody without the salt can test a guess. A dropped column stays in the
schema with every value null, so readers, reports and the warehouse SQL keep working.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

Action = Literal["keep", "hash", "drop"]
ACTIONS: tuple[Action, ...] = ("keep", "hash", "drop")

# The columns that name or reach a person, in every table that has them (see docs/tables.md).
# No IP address or other network identifier lands in any table.
PII_COLUMNS: tuple[str, ...] = ("user_name", "creator_name", "email", "phone", "phone_hash")

# Columns that hold a record as JSON text (quarantined records, pushed events): their keys are the
# API's field names, which map onto the policy's columns as below.
JSON_COLUMNS: Mapping[str, str] = {"quarantine": "record_json", "webhook_events": "payload_json"}
_JSON_KEYS: Mapping[str, tuple[str, ...]] = {
    "user_name": ("user_name",),
    "username": ("user_name",),
    "nick_name": ("creator_name",),
    "email": ("email",),
    "phone": ("phone", "phone_hash"),
}
_STRICTNESS: Mapping[Action, int] = {"keep": 0, "hash": 1, "drop": 2}


class PiiPolicyError(ValueError):
    """The policy text is malformed; the message lists the valid columns and actions."""


@dataclass(frozen=True)
class PiiPolicy:
    """Action per PII column (absent means keep); ``salt`` is needed only when something is hashed."""

    actions: Mapping[str, Action] = field(default_factory=dict)
    salt: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.hashes and not self.salt:
            raise PiiPolicyError("a PII policy that hashes a column needs the deployment's salt")

    def action(self, column: str) -> Action:
        return self.actions.get(column, "keep")

    @property
    def hashes(self) -> bool:
        return any(a == "hash" for a in self.actions.values())

    @property
    def keeps_everything(self) -> bool:
        """True when nothing is hashed or dropped: raw pages may then be archived as received."""
        return all(a == "keep" for a in self.actions.values())

    def hash_value(self, value: str) -> str:
        assert self.salt is not None  # guaranteed by __post_init__ whenever something is hashed
        return hmac.new(self.salt, value.encode("utf-8"), hashlib.sha256).hexdigest()


def parse_pii_policy(text: str) -> dict[str, Action]:
    """``"email=hash,phone=drop"`` (also ``;`` or newlines between items) into {column: action}."""
    actions: dict[str, Action] = {}
    for item in text.replace(";", ",").replace("\n", ",").split(","):
        if not item.strip():
            continue
        column, sep, action = (part.strip().lower() for part in item.partition("="))
        if not sep or column not in PII_COLUMNS or action not in ACTIONS:
            raise PiiPolicyError(
                f"TMEET_PII_POLICY item {item.strip()!r} is not <column>=<action>; columns are "
                f"{', '.join(PII_COLUMNS)} and actions are {', '.join(ACTIONS)}, e.g. 'email=hash,phone=drop'"
            )
        actions[column] = action  # type: ignore[assignment]
    return actions


def apply_pii_policy(table: str, frame: pd.DataFrame, policy: PiiPolicy) -> pd.DataFrame:
    """``frame`` with each PII column kept, hashed or nulled; the same object when nothing changes."""
    if policy.keeps_everything:
        return frame
    changed: dict[str, pd.Series] = {}
    for column in PII_COLUMNS:
        action = policy.action(column)
        if action == "keep" or column not in frame.columns:
            continue
        changed[column] = _apply_to_series(frame[column], action, policy)
    json_column = JSON_COLUMNS.get(table)
    if json_column is not None and json_column in frame.columns:
        series = frame[json_column]
        values = [None if _missing(v) else scrub_json_text(str(v), policy) for v in series]
        changed[json_column] = pd.Series(values, index=series.index, dtype=series.dtype, name=json_column)
    if not changed:
        return frame
    return frame.assign(**changed)


def _apply_to_series(series: pd.Series, action: Action, policy: PiiPolicy) -> pd.Series:
    if action == "drop":
        values: list[Any] = [None] * len(series)
    else:
        values = [None if _missing(v) else policy.hash_value(str(v)) for v in series]
    return pd.Series(values, index=series.index, dtype=series.dtype, name=series.name)


def scrub_json_text(text: str, policy: PiiPolicy) -> str:
    """A JSON record with its personal fields hashed or removed; text that is not JSON is kept as is."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return json.dumps(_scrub(parsed, policy), ensure_ascii=False, sort_keys=True)


def _json_key_action(key: str, policy: PiiPolicy) -> Action:
    columns = _JSON_KEYS.get(key.lower(), ())
    return max((policy.action(c) for c in columns), key=_STRICTNESS.__getitem__, default="keep")


def _scrub(value: Any, policy: PiiPolicy) -> Any:
    if isinstance(value, list):
        return [_scrub(v, policy) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        action = _json_key_action(str(key), policy)
        if action == "drop":
            continue
        if action == "hash" and isinstance(item, (str, int, float)) and not isinstance(item, bool):
            out[key] = policy.hash_value(str(item))
        else:
            out[key] = _scrub(item, policy)
    return out


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))
