"""Recordings and their files: account-level (E11) and user-level (E8) lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import (
    DEFAULT_TZ,
    Issues,
    Normalized,
    boolean,
    business_date,
    empty,
    epoch,
    field,
    finish_counted,
    integer,
    quarantine_issues,
    quarantine_repeats,
    split_objects,
    text,
)

Source = Literal["corp", "user"]
# The account-level list names the creator `userid`; the user-level list calls it `host_user_id`.
_HOST_FIELD: dict[str, str] = {"corp": "userid", "user": "host_user_id"}


def normalize_recordings(
    records: Sequence[Any], tz: str = DEFAULT_TZ, source: Source = "corp"
) -> tuple[Normalized, Normalized]:
    """`record_meetings[]` → (recordings, recording_files).

    A rejected recording takes its files with it into quarantine (they are inside its record_json):
    without the recording there is no business date to file them under.
    """
    if source not in _HOST_FIELD:
        raise ValueError(f"source must be 'corp' or 'user', got {source!r}")
    recordings, non_objects = split_objects(records)
    n = len(recordings)
    issues = Issues(n)
    record_id = text(field(recordings, "meeting_record_id"))
    issues.require(record_id, "meeting_record_id")
    media_start = epoch(field(recordings, "media_start_time"), "ms")
    issues.require(media_start, "media_start_time")
    parsed = {
        "meeting_id": text(field(recordings, "meeting_id")),
        "meeting_code": text(field(recordings, "meeting_code")),
        "subject": text(field(recordings, "subject")),
        "host_userid": text(field(recordings, _HOST_FIELD[source])),
        "state": integer(field(recordings, "state")),
        "record_type": integer(field(recordings, "record_type")),
    }
    for name, value in parsed.items():
        issues.check(value, name)
    file_lists = field(recordings, "record_files")
    issues.add(np.array([f is not None and not isinstance(f, list) for f in file_lists], dtype=bool), "malformed record_files")
    file_lists = [f if isinstance(f, list) else [] for f in file_lists]
    dates = business_date(media_start.values, tz)

    owner = np.repeat(np.arange(n), [len(f) for f in file_lists])
    files = [item for f in file_lists for item in f]
    files_result, file_issues = _files(files, owner, record_id.values, parsed["meeting_id"].values, dates)
    # A file that cannot be read makes its recording's size and count wrong, so the recording waits too.
    for i in np.flatnonzero(file_issues.bad):
        issues.add_at(int(owner[i]), f"record_files item: {file_issues.reason(int(i))}")

    sizes = integer([item.get("record_size") if isinstance(item, dict) else None for item in files])
    total = np.zeros(n, dtype=np.int64)
    np.add.at(total, owner, np.asarray(pc.fill_null(sizes.values, 0).to_numpy(zero_copy_only=False), dtype=np.int64))
    columns = {
        "meeting_record_id": record_id.values,
        **{name: value.values for name, value in parsed.items() if name not in ("state", "record_type")},
        "media_start_time": media_start.values,
        "business_date": dates,
        "state": parsed["state"].values,
        "record_type": parsed["record_type"].values,
        "file_count": pa.array(np.array([len(f) for f in file_lists], dtype=np.int64)),
        "total_size_bytes": pa.array(total),
    }
    keep = ~issues.bad
    recordings_frame, recording_repeats = finish_counted("recordings", columns, keep)
    recordings_quarantine = quarantine_issues("recordings", recordings, issues, dates, non_objects)
    files_frame, file_repeats = finish_counted("recording_files", files_result, keep[owner] if len(owner) else np.zeros(0, dtype=bool))
    return (
        Normalized(recordings_frame, recordings_quarantine,
                   recording_repeats + quarantine_repeats(issues, recordings_quarantine, non_objects)),
        Normalized(files_frame, empty("quarantine"), file_repeats),
    )


def _files(
    files: Sequence[Any], owner: np.ndarray, record_id: pa.Array, meeting_id: pa.Array, dates: pa.Array
) -> tuple[dict[str, pa.Array], Issues]:
    objects = [item if isinstance(item, dict) else {} for item in files]
    issues = Issues(len(files))
    issues.add(np.array([not isinstance(item, dict) for item in files], dtype=bool), "not a JSON object")
    file_id = text(field(objects, "record_file_id"))
    issues.require(file_id, "record_file_id")
    start = epoch(field(objects, "record_start_time"), "ms")
    end = epoch(field(objects, "record_end_time"), "ms")
    parsed = {
        "record_start_time": start,
        "record_end_time": end,
        "record_size": integer(field(objects, "record_size")),
        "sharing_state": integer(field(objects, "sharing_state")),
        "allow_download": boolean(field(objects, "allow_download")),
        "required_same_corp": boolean(field(objects, "required_same_corp")),
        "required_participant": boolean(field(objects, "required_participant")),
    }
    for name, value in parsed.items():
        issues.check(value, name)
    take = pa.array(owner, type=pa.int64())
    duration = pc.divide(
        pc.subtract(end.values.cast(pa.int64()), start.values.cast(pa.int64())).cast(pa.float64()), 1_000_000.0
    )
    columns = {
        "record_file_id": file_id.values,
        "meeting_record_id": record_id.take(take),
        "meeting_id": meeting_id.take(take),
        "business_date": dates.take(take),
        "record_start_time": start.values,
        "record_end_time": end.values,
        "duration_seconds": duration,
        "record_size_bytes": parsed["record_size"].values,
        "sharing_state": parsed["sharing_state"].values,
        "allow_download": parsed["allow_download"].values,
        "required_same_corp": parsed["required_same_corp"].values,
        "required_participant": parsed["required_participant"].values,
    }
    return columns, issues
