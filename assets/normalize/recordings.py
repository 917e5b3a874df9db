"""Recordings and their files: account-level (E11) and user-level (E8) lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assets.normalize._common import DEFAULT_TZ
from assets.normalize.engine import REQUIRE, Field, Spec, land, lists_of, objects_of, parse_fields
from assets.normalize.frames import Normalized, empty, finish_counted
from assets.normalize.parsers import boolean, integer, text
from assets.normalize.quarantine import Issues
from assets.normalize.records import split_objects
from assets.normalize.times import business_date, epoch_millis

Source = Literal["corp", "user"]


def _recording_fields(host_field: str) -> tuple[Spec, ...]:
    return (
        Field("meeting_record_id", text, rule=REQUIRE),
        Field("media_start_time", epoch_millis, rule=REQUIRE),
        Field("meeting_id", text),
        Field("meeting_code", text),
        Field("subject", text),
        Field(host_field, text, "host_userid", label="host_userid"),
        Field("state", integer),
        Field("record_type", integer),
    )


# The account-level list names the creator `userid`; the user-level list calls it `host_user_id`.
RECORDING_FIELDS: dict[str, tuple[Spec, ...]] = {
    "corp": _recording_fields("userid"),
    "user": _recording_fields("host_user_id"),
}
FILE_FIELDS: tuple[Spec, ...] = (
    Field("record_file_id", text, rule=REQUIRE),
    Field("record_start_time", epoch_millis),
    Field("record_end_time", epoch_millis),
    Field("record_size", integer, "record_size_bytes"),
    Field("sharing_state", integer),
    Field("allow_download", boolean),
    Field("required_same_corp", boolean),
    Field("required_participant", boolean),
)


def normalize_recordings(
    records: Sequence[Any], tz: str = DEFAULT_TZ, source: Source = "corp"
) -> tuple[Normalized, Normalized]:
    """`record_meetings[]` → (recordings, recording_files).

    A rejected recording takes its files with it into quarantine (they are inside its record_json):
    without the recording there is no business date to file them under.
    """
    if source not in RECORDING_FIELDS:
        raise ValueError(f"source must be 'corp' or 'user', got {source!r}")
    recordings, non_objects = split_objects(records)
    n = len(recordings)
    issues = Issues(n)
    columns = parse_fields(recordings, RECORDING_FIELDS[source], issues).columns
    file_lists = lists_of(recordings, "record_files", issues)
    dates = business_date(columns["media_start_time"], tz)

    counts = np.array([len(f) for f in file_lists], dtype=np.int64)
    owner = np.repeat(np.arange(n), counts)
    files, file_issues = _files([item for f in file_lists for item in f], owner, columns, dates)
    # A file that cannot be read makes its recording's size and count wrong, so the recording waits too.
    for i in np.flatnonzero(file_issues.bad):
        issues.add_at(int(owner[i]), f"record_files item: {file_issues.reason(int(i))}")

    total = np.zeros(n, dtype=np.int64)
    sizes = pc.fill_null(files["record_size_bytes"], 0).to_numpy(zero_copy_only=False)
    np.add.at(total, owner, np.asarray(sizes, dtype=np.int64))
    columns.update(business_date=dates, file_count=pa.array(counts), total_size_bytes=pa.array(total))
    keep = ~issues.bad
    recordings_result = land("recordings", recordings, issues, columns, dates=dates, non_objects=non_objects)
    files_frame, file_repeats = finish_counted("recording_files", files, keep[owner] if len(owner) else np.zeros(0, dtype=bool))
    return recordings_result, Normalized(files_frame, empty("quarantine"), file_repeats)


def _files(
    items: Sequence[Any], owner: np.ndarray, recording: dict[str, pa.Array], dates: pa.Array
) -> tuple[dict[str, pa.Array], Issues]:
    issues = Issues(len(items))
    columns = parse_fields(objects_of(items, issues, "not a JSON object"), FILE_FIELDS, issues).columns
    take = pa.array(owner, type=pa.int64())
    start, end = columns["record_start_time"], columns["record_end_time"]
    columns.update(
        meeting_record_id=recording["meeting_record_id"].take(take),
        meeting_id=recording["meeting_id"].take(take),
        business_date=dates.take(take),
        duration_seconds=pc.divide(
            pc.subtract(end.cast(pa.int64()), start.cast(pa.int64())).cast(pa.float64()), 1_000_000.0
        ),
    )
    return columns, issues
