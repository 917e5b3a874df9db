"""Pushed events under the PII policy: personal fields hashed or removed before an event is stored.

The inbox is the record every webhook table is rebuilt from, so it follows the raw archive's rule:
an event is kept as received only while the policy keeps every column. Otherwise its personal
fields are scrubbed on arrival, and the policy applied is stored with it, so a later, stricter
policy scrubs only what is still missing and a value is never hashed twice.

An event names people in more fields than the pulled tables have columns: the operator's
``pstn_number`` is a phone number, and a network address (``ip``) identifies a device. A number
follows the phone columns' action; an address is removed whenever the policy scrubs anything,
because no table has a column for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from assets.normalize.pii import PII_COLUMNS, Action, PiiPolicy

# API field names in pushed events, and the policy columns whose action they take (the strictest).
EVENT_PII_FIELDS: Mapping[str, tuple[str, ...]] = {
    "user_name": ("user_name",),
    "username": ("user_name",),
    "nick_name": ("creator_name",),
    "email": ("email",),
    "phone": ("phone", "phone_hash"),
    "pstn_number": ("phone", "phone_hash"),
}
NETWORK_FIELDS = frozenset({"ip", "client_ip", "ip_address", "ipv4", "ipv6"})
_STRICTNESS: Mapping[Action, int] = {"keep": 0, "hash": 1, "drop": 2}
RAW = ""  # the applied-policy text of an event stored as received


def applied_text(policy: PiiPolicy | None) -> str:
    """What an inbox row records as the policy its payload went through; '' when stored as received."""
    if policy is None or policy.keeps_everything:
        return RAW
    return json.dumps({c: policy.action(c) for c in PII_COLUMNS}, sort_keys=True)


def scrub_event_json(payload_json: str, policy: PiiPolicy | None, applied: str = RAW) -> str:
    """``payload_json`` with the personal fields ``policy`` scrubs and ``applied`` left as they were.

    Text that is not JSON cannot be read field by field: under a scrubbing policy it is replaced
    by its keyed hash (its length and trace are kept by the inbox row, not its content).
    """
    if policy is None or policy.keeps_everything:
        return payload_json
    before = _actions(applied)
    try:
        parsed = json.loads(payload_json)
    except ValueError:
        return payload_json if before is not None else json.dumps({"unreadable_payload_hash": _hash(payload_json, policy)})
    return json.dumps(_scrub(parsed, policy, before or {}), ensure_ascii=False, sort_keys=True)


def _actions(applied: str) -> dict[str, Action] | None:
    return None if applied == RAW else json.loads(applied)


def _hash(text: str, policy: PiiPolicy) -> str:
    # A policy that only drops has no salt; the unreadable text is then dropped too.
    return policy.hash_value(text) if policy.hashes else ""


def _field_action(columns: tuple[str, ...], actions: Mapping[str, Action] | PiiPolicy) -> Action:
    def action(c: str) -> Action:
        return actions.action(c) if isinstance(actions, PiiPolicy) else actions.get(c, "keep")

    return max((action(c) for c in columns), key=_STRICTNESS.__getitem__, default="keep")


def _scrub(value: Any, policy: PiiPolicy, before: Mapping[str, Action]) -> Any:
    if isinstance(value, list):
        return [_scrub(v, policy, before) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key).lower()
        if name in NETWORK_FIELDS:
            continue
        columns = EVENT_PII_FIELDS.get(name)
        if columns is None:
            out[key] = _scrub(item, policy, before)
            continue
        wanted, done = _field_action(columns, policy), _field_action(columns, before)
        if wanted == "drop":
            continue
        hashable = isinstance(item, (str, int, float)) and not isinstance(item, bool) and item != ""
        # Hash a value only once: one already hashed (or dropped) under the applied policy stays as it is.
        out[key] = policy.hash_value(str(item)) if wanted == "hash" and done == "keep" and hashable else item
    return out
