"""Throughput of the participant path at scale (timings are printed, never asserted)."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from assets.normalize import InstanceRef, build_attendance, normalize_participants
from tests.normalize.fixtures import MEETING_ID, b64, participant, utc

START = 1_700_000_000


@pytest.mark.soak
def test_participants_and_attendance_throughput():
    records = [
        participant(
            userid=f"user-{i % 20_000}", uuid=f"uuid-{i % 20_000}", ms_open_id=f"ms-{i}",
            user_name=b64(f"用户{i % 20_000} 😀"), instanceid=(1, 3, 0, 20)[i % 4],
            join_time=str(START + i % 36_000), left_time="" if i % 97 == 0 else str(START + i % 36_000 + 60 + i % 600),
        )
        for i in range(100_000)
    ]
    instance = InstanceRef(MEETING_ID, "", utc(START), utc(START + 40_000))
    began = time.perf_counter()
    sessions = normalize_participants(records, instance)
    normalized = time.perf_counter()
    attendance = build_attendance(sessions.frame)
    built = time.perf_counter()
    print(f"\nnormalize_participants: {len(records)} records -> {len(sessions.frame)} sessions in {normalized - began:.3f} s")
    print(f"build_attendance: {len(sessions.frame)} sessions -> {len(attendance)} people in {built - normalized:.3f} s")
    assert len(sessions.frame) == 100_000 and sessions.quarantine.empty
    assert len(attendance) == 20_000
    assert attendance["sessions"].sum() == 100_000

    many = sessions.frame.loc[sessions.frame.index.repeat(10)].reset_index(drop=True)
    # Distinct microsecond offsets keep the repeated sessions distinct rows.
    many["join_time"] = many["join_time"] + pd.to_timedelta(pd.RangeIndex(len(many)) % 10, unit="us").to_numpy()
    began = time.perf_counter()
    big = build_attendance(many)
    print(f"build_attendance: {len(many)} sessions -> {len(big)} people in {time.perf_counter() - began:.3f} s")
    assert big["sessions"].sum() == 1_000_000

