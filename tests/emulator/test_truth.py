"""Ground-truth export: determinism, table contract and invariants."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa

from emulator.truth import KEYS, SCHEMAS, compute_truth, write_truth
from tests.emulator.conftest import make_enterprise


def _truth(seed: int = 7) -> dict[str, pd.DataFrame]:
    ent = make_enterprise(seed=seed)
    return compute_truth(ent, start=ent.first_day, end=ent.anchor)


def test_truth_bytes_are_deterministic(tmp_path: Path) -> None:
    write_truth(_truth(), tmp_path / "a")
    write_truth(_truth(), tmp_path / "b")
    write_truth(_truth(seed=8), tmp_path / "c")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(f"{t}.parquet" for t in SCHEMAS)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "participant_sessions.parquet").read_bytes() != (tmp_path / "c" / "participant_sessions.parquet").read_bytes()


def test_truth_columns_types_and_keys() -> None:
    tables = _truth()
    assert "sync_log" not in tables and "quarantine" not in tables
    for name, frame in tables.items():
        schema = SCHEMAS[name]
        assert list(frame.columns) == schema.names, name
        for field in schema:
            assert frame[field.name].dtype == pd.ArrowDtype(field.type), (name, field.name)
        key = list(KEYS[name])
        assert not frame.duplicated(key).any(), name
        assert frame[key].notna().all().all(), name
        assert frame.equals(frame.sort_values(key, kind="stable").reset_index(drop=True)), name
    assert len(tables["participant_sessions"]) > 0 and len(tables["recording_events"]) > 0
    assert pa.types.is_timestamp(SCHEMAS["meetings"].field("start_time").type)


def test_truth_invariants() -> None:
    t = _truth()
    sessions, meetings, attendance = t["participant_sessions"], t["meetings"], t["attendance"]
    assert (sessions["left_time"] >= sessions["join_time"]).all()
    mkeys = set(zip(meetings["meeting_id"], meetings["sub_meeting_id"], meetings["start_time"], strict=True))
    skeys = set(zip(sessions["meeting_id"], sessions["sub_meeting_id"], sessions["meeting_start_time"], strict=True))
    assert skeys <= mkeys
    joined = attendance.merge(meetings, left_on=["meeting_id", "sub_meeting_id", "meeting_start_time"],
                              right_on=["meeting_id", "sub_meeting_id", "start_time"])
    assert len(joined) == len(attendance)
    assert (joined["attended_seconds"] <= joined["duration_seconds"]).all()
    assert (joined["first_join_time"] >= joined["start_time"]).all() and (joined["last_left_time"] <= joined["end_time"]).all()
    assert set(sessions["person_kind"]) == {"enterprise", "external", "pstn", "rooms"}
    assert (sessions["sub_meeting_id"] != "").any() and (sessions["sub_meeting_id"] == "").any()
    assert (sessions.groupby(["meeting_id", "sub_meeting_id", "meeting_start_time", "person_key"]).size() > 1).any()
    assert sessions["business_date"].ne(sessions["join_time"].dt.tz_convert("Asia/Shanghai").dt.date).any()
    metrics, events = t["recording_daily_metrics"], t["recording_events"]
    counts = events.assign(metric_date=events["operate_time"].dt.tz_convert("Asia/Shanghai").dt.date)
    per_day = counts.groupby(["meeting_record_id", "metric_date", "event_type"]).size().unstack(fill_value=0)
    assert int(metrics["view_count"].sum()) == int(per_day.get(2, pd.Series(dtype=int)).sum())
    assert int(metrics["download_count"].sum()) == int(per_day.get(1, pd.Series(dtype=int)).sum())
    assert len(t["recording_view_details"]) == int((events["event_type"] == 2).sum())
    recs = t["recordings"]
    assert ((recs["state"] == 3) | (recs["file_count"] == 0)).all()
    assert (recs.loc[recs["state"] != 3, "total_size_bytes"] == 0).all()


def test_hostile_meetings_are_listed_without_sessions() -> None:
    ent = make_enterprise()
    t = compute_truth(ent, start=ent.first_day, end=ent.anchor)
    deleted = {(i.meeting_id, i.sub_meeting_id) for i in ent.ended_instances() if i.deleted}
    assert deleted
    listed = set(zip(t["meetings"]["meeting_id"], t["meetings"]["sub_meeting_id"], strict=True))
    with_sessions = set(zip(t["participant_sessions"]["meeting_id"], t["participant_sessions"]["sub_meeting_id"], strict=True))
    assert deleted <= listed and not (deleted & with_sessions)


def test_clock_advance_grows_truth() -> None:
    ent = make_enterprise(seed=5, faults="none")
    before = compute_truth(ent, start=ent.first_day, end=ent.anchor)
    ent.clock.advance(timedelta(days=3).total_seconds())
    after = compute_truth(ent, start=ent.first_day, end=ent.anchor)
    assert len(after["meetings"]) > len(before["meetings"])
    assert len(after["recording_events"]) >= len(before["recording_events"])
    assert (after["recordings"]["state"] == 3).sum() >= (before["recordings"]["state"] == 3).sum()


def test_truth_tables_match_the_pipeline_contract() -> None:
    """Column names, order, types and keys agree with the pipeline's reading of docs/tables.md."""
    from assets import schemas as contract

    for name, schema in SCHEMAS.items():
        assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in contract.SCHEMAS[name]], name
        assert KEYS[name] == contract.KEYS[name], name


def test_webhook_truth_covers_every_session_and_event() -> None:
    ent = make_enterprise()
    t = compute_truth(ent, start=ent.first_day, end=ent.anchor)
    events, live = t["webhook_events"], t["live_attendance"]
    joins = events[events["event"] == "meeting.participant-joined"]
    assert len(joins) == len(live) > 0
    assert (events["operate_time"] <= pd.Timestamp(ent.now_ms(), unit="ms", tz="UTC")).all()
    assert live["is_open"].any() and not live["is_open"].all()
    closed = live[~live["is_open"]]
    assert (closed["left_time"] > closed["join_time"]).all()
    # Meetings deleted after they ended still pushed their events.
    deleted = {i.meeting_id for i in ent.ended_instances() if i.deleted}
    assert deleted & set(live["meeting_id"])
    assert set(events["business_date"]) <= {ent.first_day + timedelta(days=k) for k in range(7)}
