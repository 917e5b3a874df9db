"""One vectorized pass over many instances equals the instances normalized one by one."""

from __future__ import annotations

import pandas as pd

from assets.normalize._common import concat_quarantine
from assets.normalize.participants import InstanceRef, normalize_participant_batches, normalize_participants
from tests.normalize.fixtures import MEETING_ID, b64, participant, utc


def _instances() -> list[tuple[InstanceRef, list[object]]]:
    first = InstanceRef(MEETING_ID, "", utc(1700000000.5), utc(1700003600), None)
    second = InstanceRef("13339451618278424870", "1700090000", utc(1700090000), None, None)
    return [
        (first, [
            participant(userid="alice", join_time="1700000012", left_time="1700000100"),
            participant(userid="alice", join_time="1700000200", left_time="1700003500"),
            participant(userid="", uuid="", ms_open_id="ms-pstn", instanceid=0, join_type=0,
                        join_time="1700000300", left_time="1700000400"),
            participant(userid="late", join_time="1700009999", left_time="1700010000"),  # no instance's
            participant(userid="bad", join_time="1700000500", left_time="1700000400"),  # leaves before joining
            "not an object",
        ]),
        (second, [
            participant(userid="bob", user_name=b64("鲍勃 🎧"), join_time="1700090010", left_time=""),
        ]),
        (InstanceRef("13339451618278424871", "", utc(1700100000), utc(1700100100), None), []),
    ]


def test_batches_equal_one_by_one() -> None:
    batches = _instances()
    together = normalize_participant_batches(batches, "Asia/Shanghai")
    singles = [normalize_participants(records, instance, "Asia/Shanghai") for instance, records in batches]
    expected = pd.concat([s.frame for s in singles], ignore_index=True)
    key = ["meeting_id", "sub_meeting_id", "person_key", "join_time"]
    pd.testing.assert_frame_equal(
        together.frame.sort_values(key, ignore_index=True), expected.sort_values(key, ignore_index=True)
    )
    pd.testing.assert_frame_equal(
        together.quarantine.sort_values("reason", ignore_index=True),
        concat_quarantine(*[s.quarantine for s in singles]).sort_values("reason", ignore_index=True),
    )
    assert len(together.frame) == 4
    assert set(together.frame["person_kind"]) == {"enterprise", "pstn"}
    assert together.frame.loc[together.frame["userid"] == "bob", "user_name"].iloc[0] == "鲍勃 🎧"
    assert len(together.quarantine) == 3
    assert together.quarantine["reason"].str.contains("outside meeting instance").sum() == 1
