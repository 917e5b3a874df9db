"""Participant join sessions of one meeting instance (E5) and per-person attendance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import DEFAULT_TZ
from assets.normalize.engine import REQUIRE, Check, Field, Rule, Spec, earlier, land, parse_fields
from assets.normalize.frames import Normalized, empty, finish_frame
from assets.normalize.identity import person_key, person_kind
from assets.normalize.parsers import Parsed, b64text, boolean, integer, text
from assets.normalize.quarantine import Issues
from assets.normalize.records import flatten_batches
from assets.normalize.times import business_date, epoch_seconds, to_utc_scalar
from assets.schemas import KEYS, TS

_SESSION_KEY = list(KEYS["attendance"])


def _no_identity(parsed: Mapping[str, Parsed]) -> np.ndarray:
    return _null(person_key(parsed["userid"].values, parsed["uuid"].values, parsed["ms_open_id"].values))


FIELDS: tuple[Spec, ...] = (
    *(Field(name, text) for name in ("userid", "uuid", "open_id", "ms_open_id")),
    Field("phone", text, "phone_hash", label="phone"),
    *(Field(name, integer) for name in ("instanceid", "join_type", "user_role")),
    Field("is_enterprise_user", boolean),
    Field("left_time", epoch_seconds),
    Field("user_name", b64text, rule=Rule(malformed="invalid base64 in {label}")),
    Field("join_time", epoch_seconds, rule=REQUIRE),
    Check("no person identity (userid, uuid and ms_open_id all empty)", _no_identity),
    Check("left_time before join_time", earlier("left_time", "join_time")),
)


@dataclass(frozen=True)
class InstanceRef:
    """The meeting instance (media room) a participants call was made for."""

    meeting_id: str
    sub_meeting_id: str
    start_time: dt.datetime | pd.Timestamp
    end_time: dt.datetime | pd.Timestamp | None
    business_date: dt.date | None = None
    # How far outside [start_time, end_time] a join still belongs here: zero for a media room's
    # own times, some slack for scheduled times (people join early and stay late).
    join_slack: dt.timedelta = dt.timedelta(0)

    @classmethod
    def from_meeting(cls, row: Mapping[str, Any]) -> InstanceRef:
        """Build from one row of the `meetings` table (a dict or a pandas row)."""
        end = row["end_time"]
        return cls(
            meeting_id=str(row["meeting_id"]),
            sub_meeting_id=str(row["sub_meeting_id"]),
            start_time=row["start_time"],
            end_time=None if pd.isna(end) else end,
            business_date=row["business_date"],
        )


def normalize_participants(records: Sequence[Any], instance: InstanceRef, tz: str = DEFAULT_TZ) -> Normalized:
    """`GET /v1/meetings/{id}/participants` `participants[]` → participant_sessions of `instance`.

    A session whose join time falls outside the instance's [start, end] (plus its join slack) is
    counted as a repeat when another instance of the batch lands the same session, and quarantined
    otherwise: its timestamps contradict the meeting it was listed for.
    """
    return normalize_participant_batches([(instance, records)], tz)


def normalize_participant_batches(
    batches: Sequence[tuple[InstanceRef, Sequence[Any]]], tz: str = DEFAULT_TZ
) -> Normalized:
    """Several instances' participants in one vectorized pass (a day holds hundreds of instances,
    and per-call pandas overhead would otherwise dominate)."""
    instances = [instance for instance, _ in batches]
    starts = [to_utc_scalar(i.start_time, "instance.start_time") for i in instances]
    ends = [to_utc_scalar(i.end_time, "instance.end_time") if i.end_time is not None else None for i in instances]
    start_values = pa.array([s.value for s in starts], type=TS)
    derived_dates = business_date(start_values, tz).to_pylist() if instances else []
    dates = [i.business_date if i.business_date is not None else d for i, d in zip(instances, derived_dates, strict=True)]

    batched = flatten_batches([records for _, records in batches])
    people, non_objects = batched.records, batched.non_objects
    n = len(people)
    issues = Issues(n)
    parse = parse_fields(people, FIELDS, issues)
    columns = parse.columns
    join_time = parse.parsed["join_time"]

    meeting_start = batched.per_row(start_values.to_pylist(), TS)
    slack_us = [int(i.join_slack / dt.timedelta(microseconds=1)) for i in instances]
    joins_from = batched.per_row([s.value - us for s, us in zip(starts, slack_us, strict=True)], TS)
    # The media room starts at the first join (ms), and join times have whole seconds.
    inside = pc.greater_equal(join_time.values, pc.floor_temporal(joins_from, unit="second"))
    meeting_end = batched.per_row(
        [e.value + us if e is not None else None for e, us in zip(ends, slack_us, strict=True)], TS
    )
    inside = pc.and_(inside, pc.fill_null(pc.less_equal(join_time.values, meeting_end), True))
    in_instance = _fill_false(inside) | join_time.missing | join_time.invalid

    seconds = pc.divide(
        pc.subtract(columns["left_time"].cast(pa.int64()), columns["join_time"].cast(pa.int64())).cast(pa.float64()),
        1_000_000.0,
    )
    row_dates = batched.per_row(dates, pa.date32())
    columns.update(
        meeting_id=batched.per_row([i.meeting_id for i in instances], pa.string()),
        sub_meeting_id=batched.per_row([i.sub_meeting_id or "" for i in instances], pa.string()),
        meeting_start_time=meeting_start,
        business_date=row_dates,
        person_key=person_key(columns["userid"], columns["uuid"], columns["ms_open_id"]),
        person_kind=person_kind(columns["instanceid"], columns["join_type"], columns["is_enterprise_user"]),
        session_seconds=seconds,
    )
    elsewhere = _outside_instance(columns, in_instance, issues, batched.owner, instances)
    result = land("participant_sessions", people, issues, columns, dates=row_dates, non_objects=non_objects,
                  keep=in_instance & ~issues.bad)
    return result._replace(deduplicated=result.deduplicated + elsewhere)


def _outside_instance(
    columns: Mapping[str, pa.Array], in_instance: np.ndarray, issues: Issues, owner: pa.Array,
    instances: Sequence[InstanceRef],
) -> int:
    """Quarantine valid sessions outside their instance unless another instance lands them; count those."""
    outside = np.flatnonzero(~in_instance & ~issues.bad)
    if not len(outside):
        return 0
    key_columns = [columns[name] for name in ("meeting_id", "sub_meeting_id", "person_key", "join_time")]
    landed_rows = np.flatnonzero(in_instance & ~issues.bad)
    landed = set(zip(*(c.take(pa.array(landed_rows, type=pa.int64())).to_pylist() for c in key_columns), strict=True))
    keys = list(zip(*(c.take(pa.array(outside, type=pa.int64())).to_pylist() for c in key_columns), strict=True))
    owners = owner.take(pa.array(outside, type=pa.int64())).to_pylist()
    elsewhere = 0
    for row, key, index in zip(outside, keys, owners, strict=True):
        if key in landed:
            elsewhere += 1
            continue
        instance = instances[index]
        issues.add_at(int(row), (
            f"join_time {key[3].isoformat()} is outside meeting instance {instance.meeting_id} "
            f"{pd.Timestamp(instance.start_time).isoformat()}..{_iso(instance.end_time)} "
            f"(slack {int(instance.join_slack.total_seconds())} s)"
        ))
    return elsewhere


def _iso(value: dt.datetime | pd.Timestamp | None) -> str:
    return "open" if value is None else pd.Timestamp(value).isoformat()


def _null(array: pa.Array) -> np.ndarray:
    return np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _fill_false(array: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _micros(series: pd.Series) -> np.ndarray:
    """Timestamps as int64 microseconds, with nulls as the int64 minimum."""
    array = pa.array(series).cast(pa.int64())
    return np.asarray(pc.fill_null(array, np.iinfo(np.int64).min).to_numpy(zero_copy_only=False), dtype=np.int64)


def build_attendance(sessions: pd.DataFrame) -> pd.DataFrame:
    """participant_sessions → attendance: one row per instance and person, with merged intervals.

    attended_seconds is the length of the union of closed sessions: sort by join time, and a
    session starts a new merged block when it joins after every earlier session of the person left.
    """
    if len(sessions) == 0:
        return empty("attendance")
    ordered = sessions.sort_values(_SESSION_KEY + ["join_time"], kind="stable").reset_index(drop=True)
    # Rows are sorted by the key, so appearance-order group numbers are contiguous runs.
    group = ordered.groupby(_SESSION_KEY, sort=False).ngroup().to_numpy(dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])

    join = _micros(ordered["join_time"])
    left = _micros(ordered["left_time"])
    open_ = ordered["left_time"].isna().to_numpy(dtype=bool)

    # Merge closed intervals only; open sessions contribute nothing to attended time.
    closed = ~open_
    c_group, c_join, c_left = group[closed], join[closed], left[closed]
    attended = np.zeros(len(starts), dtype=np.float64)
    if closed.any():
        running_end = pd.Series(c_left).groupby(c_group).cummax().to_numpy()
        previous_end = np.r_[np.iinfo(np.int64).min, running_end[:-1]]
        first_in_group = np.r_[True, c_group[1:] != c_group[:-1]]
        new_block = first_in_group | (c_join > previous_end)
        block = np.cumsum(new_block) - 1
        block_start = pd.Series(c_join).groupby(block).min().to_numpy()
        block_end = pd.Series(c_left).groupby(block).max().to_numpy()
        block_group = c_group[new_block]
        np.add.at(attended, block_group, (block_end - block_start) / 1_000_000.0)

    counts = np.diff(np.r_[starts, len(ordered)])
    any_open = np.add.reduceat(open_.astype(np.int64), starts) > 0
    last_left = np.maximum.reduceat(np.where(open_, np.iinfo(np.int64).min, left), starts)
    first = ordered.iloc[starts]
    frame = pd.DataFrame(
        {
            "meeting_id": first["meeting_id"].to_numpy(),
            "sub_meeting_id": first["sub_meeting_id"].to_numpy(),
            "meeting_start_time": first["meeting_start_time"].array,
            "business_date": first["business_date"].array,
            "person_key": first["person_key"].to_numpy(),
            "person_kind": first["person_kind"].array,
            "userid": first["userid"].array,
            "user_name": first["user_name"].array,
            "sessions": counts,
            "first_join_time": first["join_time"].array,
            "last_left_time": pd.array(
                pa.array(np.where(any_open, 0, last_left), mask=any_open, type=pa.int64()).cast(TS),
                dtype=pd.ArrowDtype(TS),
            ),
            "attended_seconds": attended,
            "has_open_session": any_open,
        }
    )
    return finish_frame("attendance", frame)

