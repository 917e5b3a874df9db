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

from assets.normalize._common import (
    DEFAULT_TZ,
    Issues,
    Normalized,
    b64text,
    boolean,
    business_date,
    empty,
    epoch,
    fields,
    finish_counted,
    finish_frame,
    flatten_batches,
    integer,
    person_key,
    person_kind,
    quarantine_issues,
    quarantine_repeats,
    text,
    to_utc_scalar,
)
from assets.schemas import KEYS, TS

_SESSION_KEY = list(KEYS["attendance"])
_FIELDS = (
    "userid", "uuid", "open_id", "ms_open_id", "phone", "user_name", "instanceid", "join_type", "user_role",
    "is_enterprise_user", "join_time", "left_time",
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
    raw = fields(people, _FIELDS)
    userid = text(raw["userid"])
    uuid = text(raw["uuid"])
    open_id = text(raw["open_id"])
    ms_open_id = text(raw["ms_open_id"])
    phone = text(raw["phone"])
    user_name = b64text(raw["user_name"])
    instanceid = integer(raw["instanceid"])
    join_type = integer(raw["join_type"])
    user_role = integer(raw["user_role"])
    is_enterprise = boolean(raw["is_enterprise_user"])
    join_time = epoch(raw["join_time"], "s")
    left_time = epoch(raw["left_time"], "s")
    for name, parsed in (
        ("userid", userid),
        ("uuid", uuid),
        ("open_id", open_id),
        ("ms_open_id", ms_open_id),
        ("phone", phone),
        ("instanceid", instanceid),
        ("join_type", join_type),
        ("user_role", user_role),
        ("is_enterprise_user", is_enterprise),
        ("left_time", left_time),
    ):
        issues.check(parsed, name)
    issues.add(user_name.invalid, "invalid base64 in user_name")
    issues.require(join_time, "join_time")
    key = person_key(userid.values, uuid.values, ms_open_id.values)
    issues.add(_null(key), "no person identity (userid, uuid and ms_open_id all empty)")
    issues.add(_fill_false(pc.less(left_time.values, join_time.values)), "left_time before join_time")

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
        pc.subtract(left_time.values.cast(pa.int64()), join_time.values.cast(pa.int64())).cast(pa.float64()),
        1_000_000.0,
    )
    row_dates = batched.per_row(dates, pa.date32())
    columns = {
        "meeting_id": batched.per_row([i.meeting_id for i in instances], pa.string()),
        "sub_meeting_id": batched.per_row([i.sub_meeting_id or "" for i in instances], pa.string()),
        "meeting_start_time": meeting_start,
        "business_date": row_dates,
        "person_key": key,
        "person_kind": person_kind(instanceid.values, join_type.values, is_enterprise.values),
        "userid": userid.values,
        "uuid": uuid.values,
        "open_id": open_id.values,
        "ms_open_id": ms_open_id.values,
        "user_name": user_name.values,
        "phone_hash": phone.values,
        "instanceid": instanceid.values,
        "join_type": join_type.values,
        "user_role": user_role.values,
        "is_enterprise_user": is_enterprise.values,
        "join_time": join_time.values,
        "left_time": left_time.values,
        "session_seconds": seconds,
    }
    elsewhere = _outside_instance(columns, in_instance, issues, batched.owner, instances)
    frame, repeats = finish_counted("participant_sessions", columns, in_instance & ~issues.bad)
    quarantine = quarantine_issues("participant_sessions", people, issues, row_dates, non_objects)
    return Normalized(frame, quarantine, repeats + elsewhere + quarantine_repeats(issues, quarantine, non_objects))


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

