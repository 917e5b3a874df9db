"""Seeded corruption of records in list responses (``--faults corrupt``), with a ledger of every change.

Each record of a corruptible list is mutated, or not, by a hash of (seed, route, the record as
served): the same record is corrupted the same way however often it is fetched, so retries and
re-runs see one story. Every mutation is logged with the record before and after and whether a
sane reader must reject the result (``quarantine``) or read it exactly as the original (``land``),
so a test can compute what must land without trusting the pipeline.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Expect = Literal["quarantine", "land", "missing"]
Record = dict[str, Any]
# A mutation returns the changed record, or None when it does not apply to this record.
Mutate = Callable[[Record, random.Random], Record | None]

DEFAULT_RATE = 0.2
HUGE_CHARS = 70_000  # beyond any field the platform serves, and beyond what the pipeline accepts
TEN_DAYS_S = 10 * 86_400


@dataclass(frozen=True)
class Mutation:
    name: str
    expect: Expect
    apply: Mutate


def _set(name: str, value: Any) -> Mutate:
    def apply(record: Record, _: random.Random) -> Record | None:
        if name not in record:
            return None
        return {**record, name: value}
    return apply


def _drop(name: str) -> Mutate:
    def apply(record: Record, _: random.Random) -> Record | None:
        if name not in record:
            return None
        return {k: v for k, v in record.items() if k != name}
    return apply


def _edit_text(name: str, edit: Callable[[str], str]) -> Mutate:
    def apply(record: Record, _: random.Random) -> Record | None:
        value = record.get(name)
        if not isinstance(value, str) or not value:
            return None
        return {**record, name: edit(value)}
    return apply


def _extra_key(record: Record, _: random.Random) -> Record | None:
    return {**record, "x_field_from_a_newer_api": {"nested": [1, "two"]}}


def _int_as_text(name: str) -> Mutate:
    def apply(record: Record, _: random.Random) -> Record | None:
        value = record.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        return {**record, name: str(value)}
    return apply


def _text_as_int(name: str) -> Mutate:
    def apply(record: Record, _: random.Random) -> Record | None:
        value = record.get(name)
        if not isinstance(value, str) or not value.isdigit() or value.startswith("0"):
            return None
        return {**record, name: int(value)}
    return apply


VANISH = "vanish"  # a planned mutation only: the record is left out of the list, the totals still count it


def _no_identity(record: Record, _: random.Random) -> Record | None:
    return {**record, "userid": "", "uuid": "", "ms_open_id": ""}


def _shift_session(seconds: int | None) -> Mutate:
    """Move the session (``None``: join at the epoch) outside the meeting instance it is listed for."""
    def apply(record: Record, _: random.Random) -> Record | None:
        join = record.get("join_time")
        if not isinstance(join, str) or not join.isdigit():
            return None
        if seconds is None:
            return {**record, "join_time": 0}
        left = record.get("left_time")
        moved_left = str(int(left) + seconds) if isinstance(left, str) and left.isdigit() else left
        return {**record, "join_time": str(int(join) + seconds), "left_time": moved_left}
    return apply


def _left_before_join(record: Record, _: random.Random) -> Record | None:
    join = record.get("join_time")
    if not isinstance(join, str) or not join.isdigit() or not str(record.get("left_time") or "").isdigit():
        return None
    return {**record, "left_time": str(int(join) - 60)}


def _end_before_start(record: Record, _: random.Random) -> Record | None:
    start = record.get("start_time")
    if not isinstance(start, int):
        return None
    return {**record, "end_time": start - 3_600_000}


_COMMON_TEXT = "user_name"
_SHARED: tuple[Mutation, ...] = (Mutation("extra_key", "land", _extra_key),)

MUTATIONS: dict[str, tuple[str, tuple[Mutation, ...]]] = {
    "/v1/corp/users": ("users", (
        Mutation("empty_key", "quarantine", _set("userid", "")),
        Mutation("missing_key", "quarantine", _drop("userid")),
        Mutation("wrong_type_key", "quarantine", _set("userid", {"id": 1})),
        Mutation("wrong_type_status", "quarantine", _set("status", "enabled")),
        Mutation("wrong_type_bool", "quarantine", _set("enable_ai_account", "maybe")),
        Mutation("out_of_range_time", "quarantine", _set("update_time", "2026-13-45 99:99:99")),
        Mutation("lone_surrogate", "quarantine", _edit_text(_COMMON_TEXT, lambda v: v + "\ud800")),
        Mutation("nul_byte", "quarantine", _edit_text(_COMMON_TEXT, lambda v: v + "\x00x")),
        Mutation("huge_string", "quarantine", _edit_text(_COMMON_TEXT, lambda v: v + "x" * HUGE_CHARS)),
        Mutation("int_as_text", "land", _int_as_text("status")),
        *_SHARED,
    )),
    "/v1/corp/meetings": ("meeting_info_list", (
        Mutation("empty_key", "quarantine", _set("meeting_id", "")),
        Mutation("missing_key", "quarantine", _drop("meeting_id")),
        Mutation("wrong_type_time", "quarantine", _set("start_time", [1])),
        Mutation("out_of_range_time", "quarantine", _set("start_time", -1)),
        Mutation("end_before_start", "quarantine", _end_before_start),
        Mutation("lone_surrogate", "quarantine", _edit_text("subject", lambda v: "\ud800" + v)),
        Mutation("nul_byte", "quarantine", _edit_text("subject", lambda v: v + "\x00")),
        Mutation("huge_string", "quarantine", _edit_text("subject", lambda v: v * (HUGE_CHARS // len(v) + 1))),
        Mutation("int_as_text", "land", _int_as_text("meeting_type")),
        *_SHARED,
    )),
    "/v1/meetings/{meeting_id}/participants": ("participants", (
        Mutation("empty_key", "quarantine", _no_identity),
        Mutation("missing_key", "quarantine", _drop("join_time")),
        Mutation("wrong_type", "quarantine", _set("instanceid", "abc")),
        Mutation("wrong_type_time", "quarantine", _set("join_time", {"t": 1})),
        Mutation("join_time_zero", "quarantine", _shift_session(None)),
        Mutation("moved_ten_days", "quarantine", _shift_session(TEN_DAYS_S)),
        Mutation("out_of_range_time", "quarantine", _set("join_time", "99999999999999")),
        Mutation("left_before_join", "quarantine", _left_before_join),
        Mutation("invalid_base64", "quarantine", _set("user_name", "!!not base64!!")),
        Mutation("lone_surrogate", "quarantine", _edit_text("phone", lambda v: v + "\udfff")),
        Mutation("nul_byte", "quarantine", _edit_text("phone", lambda v: v + "\x00")),
        Mutation("huge_string", "quarantine", _set("user_name", "QUFB" * (HUGE_CHARS // 4))),
        Mutation("int_as_text", "land", _int_as_text("instanceid")),
        Mutation("text_as_int", "land", _text_as_int("join_time")),
        *_SHARED,
    )),
}
_RECORDINGS: tuple[Mutation, ...] = (
    Mutation("empty_key", "quarantine", _set("meeting_record_id", "")),
    Mutation("missing_key", "quarantine", _drop("meeting_record_id")),
    Mutation("wrong_type_time", "quarantine", _set("media_start_time", [1])),
    Mutation("out_of_range_time", "quarantine", _set("media_start_time", -1)),
    Mutation("wrong_type_state", "quarantine", _set("state", "done")),
    Mutation("lone_surrogate", "quarantine", _edit_text("subject", lambda v: v + "\ud800")),
    Mutation("nul_byte", "quarantine", _edit_text("subject", lambda v: v + "\x00")),
    Mutation("huge_string", "quarantine", _edit_text("subject", lambda v: v * (HUGE_CHARS // len(v) + 1))),
    Mutation("int_as_text", "land", _int_as_text("state")),
    *_SHARED,
)
MUTATIONS.update({
    "/v1/corp/records": ("record_meetings", _RECORDINGS),
    "/v1/records": ("record_meetings", _RECORDINGS),
    "/v1/metrics/records": ("summaries", (
        Mutation("missing_key", "quarantine", _drop("date")),
        Mutation("wrong_type_date", "quarantine", _set("date", "yesterday")),
        Mutation("wrong_type_count", "quarantine", _set("view_counts", "many")),
        Mutation("int_as_text", "land", _int_as_text("download_counts")),
        *_SHARED,
    )),
    "/v1/records/events": ("events", (
        Mutation("missing_key", "quarantine", _drop("operate_time")),
        Mutation("wrong_type_time", "quarantine", _set("operate_time", {"t": 1})),
        Mutation("out_of_range_time", "quarantine", _set("operate_time", -1)),
        Mutation("nul_byte", "quarantine", _edit_text("record_name", lambda v: v + "\x00")),
        Mutation("huge_string", "quarantine", _edit_text("record_name", lambda v: v * (HUGE_CHARS // len(v) + 1))),
        *_SHARED,
    )),
    "/v1/records/view-details": ("view_details", (
        Mutation("missing_key", "quarantine", _drop("view_start_time")),
        Mutation("wrong_type_time", "quarantine", _set("view_start_time", "noon")),
        Mutation("out_of_range_time", "quarantine", _set("view_start_time", -1)),
        Mutation("lone_surrogate", "quarantine", _edit_text("record_file_name", lambda v: "\udfff" + v)),
        Mutation("int_as_text", "land", _int_as_text("view_time")),
        *_SHARED,
    )),
})
ROUTES = frozenset(MUTATIONS)
# Records of these routes do not name what they belong to (two recordings can serve the same
# summary): the request's parameter does, and tells their mutations apart.
OWNER_PARAM: dict[str, str] = {
    "/v1/metrics/records": "meeting_record_id",
    "/v1/records/events": "meeting_record_id",
    "/v1/records/view-details": "record_file_id",
}


def owner_of(route: str, target: str) -> str:
    """What the records of ``target`` belong to when they do not say it themselves ('' otherwise)."""
    param = OWNER_PARAM.get(route)
    if param is None:
        return ""
    return parse_qs(urlsplit(target).query).get(param, [""])[0]
_VANISHED: Record = {}  # sentinel: the record is left out of the list


def canonical(record: Any) -> str:
    """One text per record: sorted keys, ASCII escapes (lone surrogates survive the round trip)."""
    return json.dumps(record, sort_keys=True, ensure_ascii=True)


@dataclass(frozen=True)
class Planned:
    """A mutation for every record of ``route`` whose fields equal ``match`` (seeded choice bypassed)."""

    route: str
    match: tuple[tuple[str, Any], ...]
    mutation: str

    def matches(self, route: str, record: Record) -> bool:
        return route == self.route and all(record.get(k) == v for k, v in self.match)


def mutation_named(route: str, name: str) -> Mutation:
    if route not in MUTATIONS:
        raise ValueError(f"records of {route!r} are not corrupted; use one of {sorted(MUTATIONS)}")
    if name == VANISH:
        return Mutation(VANISH, "missing", lambda record, _: record)
    for mutation in MUTATIONS[route][1]:
        if mutation.name == name:
            return mutation
    names = sorted({m.name for m in MUTATIONS[route][1]} | {VANISH})
    raise ValueError(f"no mutation {name!r} for {route}; use one of {names}")


class RecordCorrupter:
    """Mutates a seeded share of the records of :data:`ROUTES` responses and logs each mutation."""

    def __init__(self, seed: int, rate: float = DEFAULT_RATE) -> None:
        self._seed = seed
        self._rate = rate
        self._lock = threading.Lock()
        self._log: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._plans: list[Planned] = []

    def plan(self, route: str, match: dict[str, Any], mutation: str) -> None:
        """Mutate every record of ``route`` whose fields equal ``match`` with ``mutation`` from now on."""
        mutation_named(route, mutation)
        if not match:
            raise ValueError("a planned mutation needs fields to match, e.g. {\"userid\": \"alice\"}")
        with self._lock:
            self._plans.append(Planned(route, tuple(sorted(match.items())), mutation))

    def corrupt(self, route: str, target: str, body: bytes) -> bytes:
        """``body`` with some records of the route's list mutated (unchanged when nothing applies)."""
        spec = MUTATIONS.get(route)
        if spec is None:
            return body
        key, mutations = spec
        try:
            payload = json.loads(body)
        except ValueError:
            return body
        records = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(records, list) or not records:
            return body
        changed = False
        kept: list[Any] = []
        for record in records:
            mutated = self._mutate(route, target, record, mutations) if isinstance(record, dict) else None
            changed = changed or mutated is not None
            if mutated is None:
                kept.append(record)
            elif mutated is not _VANISHED:
                kept.append(mutated)
        if not changed:
            return body
        payload[key] = kept
        return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()

    def _mutate(self, route: str, target: str, record: Record, mutations: tuple[Mutation, ...]) -> Record | None:
        original = canonical(record)
        owner = owner_of(route, target)
        seen_as = f"{route}\x00{owner}" if owner else route
        rnd = random.Random(hashlib.sha256(f"{self._seed}\x00{seen_as}\x00{original}".encode()).digest())
        with self._lock:
            planned = [mutation_named(route, p.mutation) for p in self._plans if p.matches(route, record)]
        if planned:
            candidates = planned[:1]
        elif rnd.random() < self._rate:
            # The first mutation (in a seeded order) that applies to this record.
            candidates = rnd.sample(mutations, len(mutations))
        else:
            return None
        for mutation in candidates:
            mutated = mutation.apply(copy.deepcopy(record), rnd)
            if mutated is None:
                continue
            with self._lock:
                entry = self._log.setdefault((route, owner, original), {
                    "route": route, "target": target, "owner": owner, "list_key": MUTATIONS[route][0],
                    "mutation": mutation.name,
                    "expect": mutation.expect, "original": record, "mutated": mutated, "served": 0,
                })
                entry["served"] += 1
            return _VANISHED if mutation.name == VANISH else mutated
        return None

    def mutations(self) -> list[dict[str, Any]]:
        """Every record mutated so far, once each, with how often it was served."""
        with self._lock:
            return [dict(entry) for entry in self._log.values()]
