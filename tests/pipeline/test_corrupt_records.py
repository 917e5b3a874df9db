"""Corrupted records through a real sync: none vanishes, each is landed as a sane reading gives or
quarantined with a reason, and everything untouched lands exactly as the ground truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

import assets.meetings as meetings_module
import assets.participants as participants_module
import assets.recording_access as access_module
from assets._sync import SyncContext, Tally, replay_pages
from assets.meetings import derive_meetings
from assets.participants import derive_participants
from assets.recording_access import derive_recording_access
from assets.recordings import derive_recordings
from assets.users import derive_directory
from assets.normalize._common import Normalized
from emulator.corruption import canonical
from emulator.testing import EmulatorHandle, running_emulator
from emulator.truth import compute_truth
from pipelines.cli import main
from pipelines.sync import run_sync
from resources.lake import Lake
from resources.raw_archive import RawArchive
from resources.tencent.scopes import (
    E_CORP_MEETINGS,
    E_CORP_RECORDS,
    E_CORP_ROLES,
    E_CORP_USERS,
    E_PARTICIPANTS,
    E_RECORD_EVENTS,
    E_RECORD_METRICS,
    E_USER_INFO,
    E_VIEW_DETAILS,
)
from tests.pipeline.conftest import NOW, aksk_env, assert_tables_equal
from resources.dagster_resources import TencentMeetingResource
from resources.tencent.stats import CallStats
from assets.snapshots import snapshot_meetings

USERS = "/v1/corp/users"
MEETINGS = "/v1/corp/meetings"
PARTICIPANTS = "/v1/meetings/{meeting_id}/participants"
RECORDS, USER_RECORDS = "/v1/corp/records", "/v1/records"
METRICS, EVENTS, VIEWS = "/v1/metrics/records", "/v1/records/events", "/v1/records/view-details"
TABLE_OF = {
    USERS: "users", MEETINGS: "meetings", PARTICIPANTS: "participant_sessions",
    RECORDS: "recordings", USER_RECORDS: "recordings", METRICS: "recording_daily_metrics",
    EVENTS: "recording_events", VIEWS: "recording_view_details",
}
ACCESS_TABLES = access_module.TABLES
# Three working days and a weekend before NOW (a Wednesday): enough records for the fuzzing run.
FUZZ_FIRST, FUZZ_LAST = date(2026, 6, 10), date(2026, 6, 16)
ONE_DAY = date(2026, 6, 16)
MIN_MUTATED = 1_000
TZ = "Asia/Shanghai"


@contextmanager
def corrupt_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, scale: str = "small", days: int = 3, rate: float = 0.0
) -> Iterator[tuple[EmulatorHandle, Path]]:
    """An emulator with the corrupt profile (``rate`` 0: only planned mutations) and the pipeline pointed at it."""
    with running_emulator(seed=11, scale=scale, days=days, now=NOW, rate_limit="off", faults="corrupt",
                          corrupt_rate=rate) as emu:
        data_dir = tmp_path / "data"
        for name, value in aksk_env(emu, data_dir).items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield emu, data_dir


def utc_s(seconds: Any) -> pd.Timestamp:
    return pd.Timestamp(datetime.fromtimestamp(int(seconds), UTC))


def utc_ms(milliseconds: Any) -> pd.Timestamp:
    return pd.Timestamp(int(milliseconds) * 1000, unit="us", tz="UTC")


def truth_key(mutation: dict[str, Any]) -> tuple[Any, ...]:
    """The key, in the truth's table, of the row the original record stands for."""
    original = mutation["original"]
    if mutation["route"] == USERS:
        return (original["userid"],)
    if mutation["route"] == MEETINGS:
        start = pd.Timestamp(int(original["start_time"]) * 1000, unit="us", tz="UTC")
        return (original["meeting_id"], original.get("sub_meeting_id") or "", start)
    url = urlsplit(mutation["target"])
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    if mutation["route"] in (RECORDS, USER_RECORDS):
        return (original["meeting_record_id"],)
    if mutation["route"] == METRICS:
        return (query["meeting_record_id"], date.fromisoformat(original["date"]))
    if mutation["route"] == EVENTS:
        return (query["meeting_record_id"], int(original["event_type"]), utc_ms(original["operate_time"]),
                original.get("userid"))
    if mutation["route"] == VIEWS:
        return (query["record_file_id"], original.get("userid"), utc_ms(original["view_start_time"]))
    meeting_id = url.path.split("/")[3]
    sub_meeting_id = parse_qs(url.query).get("sub_meeting_id", [""])[0]
    person = original.get("userid") or original.get("uuid") or original.get("ms_open_id")
    return (meeting_id, sub_meeting_id, person, utc_s(original["join_time"]))


KEY_COLUMNS = {
    "users": ["userid"],
    "meetings": ["meeting_id", "sub_meeting_id", "start_time"],
    "participant_sessions": ["meeting_id", "sub_meeting_id", "person_key", "join_time"],
    "recordings": ["meeting_record_id"],
    "recording_daily_metrics": ["meeting_record_id", "metric_date"],
    "recording_events": ["meeting_record_id", "event_type", "operate_time", "userid"],
    "recording_view_details": ["record_file_id", "userid", "view_start_time"],
}


def keys_of(table: str, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame[KEY_COLUMNS[table]].astype(object).itertuples(index=False, name=None)]


def without(table: str, frame: pd.DataFrame, keys: set[tuple[Any, ...]]) -> pd.DataFrame:
    keep = [key not in keys for key in keys_of(table, frame)]
    return frame[keep].reset_index(drop=True)


def quarantined_records(lake: Lake) -> dict[str, list[tuple[str, str]]]:
    """Per table, (canonical record, reason) of every quarantine row."""
    quarantine = lake.read("quarantine")
    out: dict[str, list[tuple[str, str]]] = {}
    for table, record_json, reason in quarantine[["table_name", "record_json", "reason"]].itertuples(index=False):
        out.setdefault(table, []).append((canonical(json.loads(record_json)), reason))
    return out


def quarantined_by_owner(lake: Lake) -> dict[str, list[tuple[str, str, str]]]:
    """Per table, (owner, canonical record, reason): an access record is quarantined with the request it
    answered, whose recording (or file, for view details) the emulator's ledger names as its owner."""
    quarantine = lake.read("quarantine")
    out: dict[str, list[tuple[str, str, str]]] = {}
    for table, record_json, reason in quarantine[["table_name", "record_json", "reason"]].itertuples(index=False):
        record, owner = json.loads(record_json), ""
        if table in ACCESS_TABLES:
            owner = record["record_file_id"] if table == "recording_view_details" else record["meeting_record_id"]
            record = record["record"]
        out.setdefault(table, []).append((owner, canonical(record), reason))
    return out


def tally_rows(lake: Lake) -> pd.DataFrame:
    log = lake.read("sync_log")
    return log[log["endpoint"].str.startswith("(rows) ")].reset_index(drop=True)


def unfetched_children(lake: Lake) -> list[dict[str, Any]]:
    log = lake.read("sync_log")
    rows = log[(log["asset"] == "participant_sessions") & log["endpoint"].str.contains("participants")]
    return [skip for reasons in rows["skip_reasons"] for skip in json.loads(reasons)
            if "participants not fetched" in skip["reason"]]


def unfetched_access(lake: Lake) -> list[dict[str, Any]]:
    log = lake.read("sync_log")
    rows = log[log["asset"] == "recording_access"]
    return [skip for reasons in rows["skip_reasons"] for skip in json.loads(reasons)
            if "recording access not fetched" in skip["reason"]]


def test_fuzzed_records_are_all_accounted_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with corrupt_pipeline(monkeypatch, tmp_path, scale="demo", days=8, rate=0.5) as (emu, data_dir):
        summary = run_sync(FUZZ_FIRST, FUZZ_LAST)
        assert summary.success, (summary.failures, summary.check_failures)
        mutations = emu.mutations()
        truth = compute_truth(emu.enterprise, start=FUZZ_FIRST, end=FUZZ_LAST)
        lake = Lake.from_data_dir(data_dir)

    assert len(mutations) >= MIN_MUTATED, f"only {len(mutations)} records were corrupted; the test would prove little"
    # Every corruptible list the AK/SK app reads (it reads the account-wide recordings, not a user's own).
    assert {m["route"] for m in mutations} >= set(TABLE_OF) - {USER_RECORDS}
    assert {m["mutation"] for m in mutations} >= {
        "empty_key", "missing_key", "wrong_type_time", "out_of_range_time", "join_time_zero", "moved_ten_days",
        "invalid_base64", "huge_string", "lone_surrogate", "nul_byte", "extra_key",
    }

    # Conservation, for every asset and date range it ran: nothing unaccounted for.
    tallies = tally_rows(lake)
    assert set(tallies["endpoint"]) >= {f"(rows) {t}" for t in TABLE_OF.values()}
    accounted = tallies["rows_landed"] + tallies["rows_quarantined"] + tallies["rows_deduplicated"]
    assert (tallies["rows_received"] == accounted).all(), tallies.to_string()

    assert_every_page_balances(data_dir, lake)

    quarantine = quarantined_by_owner(lake)
    lost_recordings = {m["original"]["meeting_record_id"] for m in mutations
                       if m["route"] in (RECORDS, USER_RECORDS) and m["expect"] == "quarantine"}
    assert lost_recordings, "no recording was quarantined; the test would prove little about its children"
    for table in dict.fromkeys(TABLE_OF.values()):
        mine = [m for m in mutations if TABLE_OF[m["route"]] == table]
        rejected = [m for m in mine if m["expect"] == "quarantine"]
        # Every record that must be rejected is in quarantine, with a reason; nothing else is.
        records = {(owner, record): reason for owner, record, reason in quarantine.get(table, [])}
        for mutation in rejected:
            reason = records.get((mutation.get("owner", ""), canonical(mutation["mutated"])))
            assert reason, f"{mutation['mutation']} of a {table} record vanished: {canonical(mutation['mutated'])[:300]}"
        expected_rows = {(m.get("owner", ""), canonical(m["mutated"])) for m in rejected}
        assert len(records) == len(expected_rows), f"{table}: clean records quarantined"

        # Everything else (untouched, or harmlessly changed) lands exactly as in the truth.
        gone = {truth_key(m) for m in rejected}
        if table == "participant_sessions":
            gone |= sessions_of_quarantined_meetings(truth, mutations)
        if table in ACCESS_TABLES:
            # A quarantined recording's access is not fetched (sync_log says so, checked below).
            children = truth[table][truth[table]["meeting_record_id"].isin(list(lost_recordings))]
            gone |= set(keys_of(table, children))
        expected = without(table, truth[table], gone)
        assert len(expected) > 0
        assert_tables_equal(table, lake.read(table), expected)

    # Each quarantined meeting's participants are recorded as not fetched, with the reason.
    quarantined_meetings = [m for m in mutations if m["route"] == MEETINGS and m["expect"] == "quarantine"]
    assert len(unfetched_children(lake)) == len(quarantined_meetings) > 0

    # A quarantined recording's files are not landed, and its access is recorded as not fetched on each endpoint.
    files = truth["recording_files"]
    assert_tables_equal("recording_files", lake.read("recording_files"),
                        files[~files["meeting_record_id"].isin(list(lost_recordings))].reset_index(drop=True))
    quarantined_recordings = {canonical(m["mutated"]) for m in mutations
                              if m["route"] in (RECORDS, USER_RECORDS) and m["expect"] == "quarantine"}
    assert len(unfetched_access(lake)) == 3 * len(quarantined_recordings)
    # ... and each file such a recording lists is named as not fetched on the view-details endpoint.
    lost_files = {item["record_file_id"] for m in mutations
                  if m["route"] in (RECORDS, USER_RECORDS) and m["expect"] == "quarantine"
                  for item in m["mutated"].get("record_files") or []}
    assert lost_files and set(unfetched_files(lake)) == {f"recording file {f}" for f in lost_files}


def sessions_of_quarantined_meetings(
    truth: dict[str, pd.DataFrame], mutations: list[dict[str, Any]]
) -> set[tuple[Any, ...]]:
    instances = {truth_key(m) for m in mutations if m["route"] == MEETINGS and m["expect"] == "quarantine"}
    sessions = truth["participant_sessions"]
    of_instance = [
        (meeting_id, sub, start) in instances
        for meeting_id, sub, start in sessions[["meeting_id", "sub_meeting_id", "meeting_start_time"]]
        .astype(object).itertuples(index=False, name=None)
    ]
    return set(keys_of("participant_sessions", sessions[of_instance]))


def test_four_users_with_an_empty_userid_are_four_quarantine_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with corrupt_pipeline(monkeypatch, tmp_path) as (emu, data_dir):
        chosen = sorted(u.userid for u in emu.enterprise.users)[1:5]
        for userid in chosen:
            emu.plan_mutation(USERS, {"userid": userid}, "empty_key")
        assert run_sync(ONE_DAY, ONE_DAY).success
        lake = Lake.from_data_dir(data_dir)
    users = quarantined_records(lake)["users"]
    assert len(users) == 4
    assert all("missing userid" in reason for _, reason in users)
    assert not set(chosen) & set(lake.read("users")["userid"])


def two_sessions_of_one_person(emu: EmulatorHandle, truth: dict[str, pd.DataFrame]) -> pd.DataFrame:
    sessions = truth["participant_sessions"]
    closed = sessions[sessions["userid"].notna() & sessions["left_time"].notna()]
    counts = closed.groupby(["meeting_id", "sub_meeting_id", "person_key"]).size()
    meeting_id, sub_meeting_id, person = counts[counts >= 2].index[0]
    mask = ((closed["meeting_id"] == meeting_id) & (closed["sub_meeting_id"] == sub_meeting_id)
            & (closed["person_key"] == person))
    return closed[mask].head(2)


@pytest.mark.parametrize("mutation", ["join_time_zero", "moved_ten_days"])
def test_two_corrupted_sessions_of_one_person_are_two_quarantine_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mutation: str
) -> None:
    with corrupt_pipeline(monkeypatch, tmp_path) as (emu, data_dir):
        truth = compute_truth(emu.enterprise, start=ONE_DAY, end=ONE_DAY)
        pair = two_sessions_of_one_person(emu, truth)
        for row in pair.itertuples(index=False):
            emu.plan_mutation(PARTICIPANTS, {"userid": row.userid, "join_time": str(int(row.join_time.timestamp()))},
                              mutation)
        summary = run_sync(ONE_DAY, ONE_DAY)
        assert summary.success, (summary.failures, summary.check_failures)
        lake = Lake.from_data_dir(data_dir)
    sessions = quarantined_records(lake)["participant_sessions"]
    assert len(sessions) == 2
    # Their timestamps contradict the meeting instance they were listed for.
    assert all("is outside meeting instance" in reason for _, reason in sessions)
    tally = tally_rows(lake).set_index("endpoint").loc["(rows) participant_sessions"]
    assert tally["rows_quarantined"] == 2
    assert tally["rows_received"] == tally["rows_landed"] + 2 + tally["rows_deduplicated"]


def test_participants_of_a_quarantined_meeting_are_recorded_as_not_fetched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with corrupt_pipeline(monkeypatch, tmp_path) as (emu, data_dir):
        truth = compute_truth(emu.enterprise, start=ONE_DAY, end=ONE_DAY)
        meeting_id = truth["participant_sessions"]["meeting_id"].iloc[0]
        emu.plan_mutation(MEETINGS, {"meeting_id": meeting_id}, "end_before_start")
        summary = run_sync(ONE_DAY, ONE_DAY)
        assert summary.success, (summary.failures, summary.check_failures)
        lake = Lake.from_data_dir(data_dir)
    skipped = unfetched_children(lake)
    assert skipped and {s["resource"] for s in skipped} == {f"meeting {meeting_id}"}
    assert all("end_time before start_time" in s["reason"] for s in skipped)
    assert meeting_id not in set(lake.read("participant_sessions")["meeting_id"])


def unfetched_files(lake: Lake) -> dict[str, str]:
    """resource -> reason of every view-details skip that names a recording file."""
    log = lake.read("sync_log")
    rows = log[(log["asset"] == "recording_access") & (log["endpoint"] == E_VIEW_DETAILS)]
    return {skip["resource"]: skip["reason"] for reasons in rows["skip_reasons"] for skip in json.loads(reasons)
            if skip["resource"].startswith("recording file ")}


def test_files_of_a_quarantined_recording_are_recorded_as_not_fetched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with corrupt_pipeline(monkeypatch, tmp_path) as (emu, data_dir):
        truth = compute_truth(emu.enterprise, start=ONE_DAY, end=ONE_DAY)
        # A recording whose files were played, so their view details would otherwise be fetched.
        record_id = truth["recording_view_details"]["meeting_record_id"].iloc[0]
        emu.plan_mutation(RECORDS, {"meeting_record_id": record_id}, "wrong_type_state")
        summary = run_sync(ONE_DAY, ONE_DAY)
        assert summary.success, (summary.failures, summary.check_failures)
        ledger = [m for m in emu.mutations() if m["route"] == RECORDS]
        lake = Lake.from_data_dir(data_dir)
    assert len(ledger) == 1 and ledger[0]["expect"] == "quarantine"
    files = {item["record_file_id"] for item in ledger[0]["original"]["record_files"]}
    played = set(truth["recording_view_details"].loc[
        truth["recording_view_details"]["meeting_record_id"] == record_id, "record_file_id"])
    assert played and played <= files
    skipped = unfetched_files(lake)
    assert set(skipped) == {f"recording file {file_id}" for file_id in files}
    assert all(f"recording record {record_id} was quarantined" in reason and "state" in reason
               for reason in skipped.values()), skipped
    assert not files & set(lake.read("recording_view_details")["record_file_id"])
    assert not files & set(lake.read("recording_files")["record_file_id"])


def test_sync_exits_non_zero_and_names_a_failed_error_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with corrupt_pipeline(monkeypatch, tmp_path) as (emu, _):
        truth = compute_truth(emu.enterprise, start=ONE_DAY, end=ONE_DAY)
        # The list leaves one meeting out while its total_count still counts it.
        emu.plan_mutation(MEETINGS, {"meeting_id": truth["meetings"]["meeting_id"].iloc[0]}, "vanish")
        code = main(["sync", "--start", ONE_DAY.isoformat(), "--end", ONE_DAY.isoformat()])
    out = capsys.readouterr().out
    assert code != 0
    assert "succeeded" not in out
    lines = [line for line in out.splitlines() if "check failed (ERROR)" in line]
    assert len(lines) == 1, out
    assert "meetings.matches_api_total" in lines[0] and "API total_count" in lines[0]


def page_rows(lake: Lake) -> pd.DataFrame:
    log = lake.read("sync_log")
    return log[log["endpoint"].str.startswith("(page) ")].reset_index(drop=True)


PAGED = {
    "meetings": ("meetings", lambda pages, day: derive_meetings(pages, day, TZ)),
    "recordings": ("recordings", lambda pages, _day: derive_recordings(pages, TZ)),
    "participant_sessions": ("participant_sessions", lambda pages, _day: derive_participants(pages, TZ)),
    "recording_daily_metrics": ("recording_access", lambda pages, _day: derive_recording_access(pages)),
    "recording_events": ("recording_access", lambda pages, _day: derive_recording_access(pages)),
    "recording_view_details": ("recording_access", lambda pages, _day: derive_recording_access(pages)),
    "users": ("directory", lambda pages, _day: derive_directory(pages, TZ)),
    "user_departments": ("directory", lambda pages, _day: derive_directory(pages, TZ)),
    "roles": ("directory", lambda pages, _day: derive_directory(pages, TZ)),
}


def assert_every_page_balances(data_dir: Path, lake: Lake) -> None:
    """Every page of every paged table accounts for each of its records: sync_log names no unbalanced
    page, and replaying the raw archive gives each archived page a balanced tally whose sum is the
    table's ``(rows)`` row in sync_log."""
    assert page_rows(lake).empty, page_rows(lake).to_string()
    logged = {(row.endpoint.removeprefix("(rows) "), row.partition): Tally(
        int(row.rows_received), int(row.rows_landed), int(row.rows_quarantined), int(row.rows_deduplicated))
        for row in tally_rows(lake).itertuples(index=False)}
    raw = RawArchive.from_data_dir(data_dir)
    seen: dict[str, Tally] = {}
    pages_seen = dict.fromkeys(PAGED, 0)
    for table, (asset, derive) in PAGED.items():
        days = [None] if asset == "directory" else list(pd.date_range(FUZZ_FIRST, FUZZ_LAST).date)
        for day in days:
            pages = list(replay_pages(raw, asset, day))
            derived = derive(pages, day)
            ledger = derived.pages[table]
            mine = len(ledger)
            assert mine == len([p for p in pages if table_of_page(table, p.endpoint)]), (table, day)
            unbalanced = [page.where(asset, day) for page in ledger if page.tally.unaccounted]
            assert not unbalanced, unbalanced
            total = sum((page.tally for page in ledger), Tally())
            assert total == derived.tally[table] == logged[(table, day.isoformat() if day else "")], (table, day)
            seen[table] = seen.get(table, Tally()) + total
            pages_seen[table] += mine
    # The ledger met what it has to tell apart: set-aside records and repeats, over several pages.
    # The account's few roles fit on one page; every other table spans several.
    assert pages_seen["roles"] >= 1 and all(pages_seen[t] > 1 for t in PAGED if t != "roles"), pages_seen
    assert all(seen[t].quarantined > 0 for t in set(TABLE_OF.values())), seen
    assert seen["user_departments"].received > 0, seen
    assert sum(seen[t].deduplicated for t in PAGED) > 0, seen


SOURCES = {
    "meetings": {E_CORP_MEETINGS}, "recordings": {E_CORP_RECORDS}, "participant_sessions": {E_PARTICIPANTS},
    "recording_daily_metrics": {E_RECORD_METRICS}, "recording_events": {E_RECORD_EVENTS},
    "recording_view_details": {E_VIEW_DETAILS}, "users": {E_CORP_USERS, E_USER_INFO},
    "user_departments": {E_CORP_USERS}, "roles": {E_CORP_ROLES},
}


def table_of_page(table: str, endpoint: str) -> bool:
    """Whether a page from ``endpoint`` carries records of ``table``."""
    return endpoint in SOURCES[table]


def test_a_page_that_loses_a_record_fails_conservation_naming_the_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with corrupt_pipeline(monkeypatch, tmp_path) as (emu, data_dir):
        truth = compute_truth(emu.enterprise, start=ONE_DAY, end=ONE_DAY)
        lost = sorted(truth["meetings"]["meeting_id"])[-1]
        normalize = meetings_module.normalize_corp_ended_meetings

        def losing_one(records: list[Any], tz: str) -> Normalized:
            # A normalizer bug: one record's row disappears without a quarantine row or a repeat count.
            normalized = normalize(records, tz)
            return normalized._replace(frame=normalized.frame[normalized.frame["meeting_id"] != lost])

        monkeypatch.setattr(meetings_module, "normalize_corp_ended_meetings", losing_one)
        summary = run_sync(ONE_DAY, ONE_DAY)
    assert not summary.success
    failed = [c for c in summary.check_failures if c.name == "meetings.conservation"]
    assert len(failed) == 1, summary.check_failures
    raw = RawArchive.from_data_dir(data_dir)
    number = next(page.envelope["page"] for page in raw.iter_pages("meetings", ONE_DAY)
                  if any(record.get("meeting_id") == lost for record in page.body["meeting_info_list"]))
    where = f"archived page {number} of meetings {ONE_DAY.isoformat()}"
    assert "GET /v1/corp/meetings" in failed[0].description and where in failed[0].description, failed[0].description
    rows = page_rows(Lake.from_data_dir(data_dir))
    assert len(rows) == 1 and where in rows["endpoint"].iloc[0]
    row = rows.iloc[0]
    assert row["rows_received"] - row["rows_landed"] - row["rows_quarantined"] - row["rows_deduplicated"] == 1


LOSSES = {
    # table: (module whose normalizer drops the row, its name, the key column naming the lost row, the asset)
    "participant_sessions": (participants_module, "normalize_participant_batches", "userid", "participant_sessions"),
    "recording_view_details": (access_module, "normalize_view_details_batches", "userid", "recording_access"),
}


@pytest.mark.parametrize("table", sorted(LOSSES))
def test_a_batched_page_that_loses_a_record_fails_conservation_naming_the_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, table: str
) -> None:
    module, name, column, asset = LOSSES[table]
    with corrupt_pipeline(monkeypatch, tmp_path) as (emu, data_dir):
        truth = compute_truth(emu.enterprise, start=ONE_DAY, end=ONE_DAY)
        lost_row = truth[table][truth[table][column].fillna("") != ""].sort_values(column).iloc[-1]
        normalize = getattr(module, name)

        def losing_one(*args: Any, **kwargs: Any) -> Normalized:
            # A normalizer bug: one row disappears without a quarantine row or a repeat count.
            normalized = normalize(*args, **kwargs)
            frame = normalized.frame
            gone = (frame[column] == lost_row[column]) & (frame[KEY_COLUMNS[table][0]] == lost_row[KEY_COLUMNS[table][0]])
            first = gone[gone].index[:1]
            return normalized._replace(frame=frame.drop(index=first).reset_index(drop=True))

        monkeypatch.setattr(module, name, losing_one)
        summary = run_sync(ONE_DAY, ONE_DAY)
    assert not summary.success
    failed = [c for c in summary.check_failures if c.name == f"{table}.conservation"]
    assert len(failed) == 1, summary.check_failures
    assert "1 page(s) do not balance" in failed[0].description, failed[0].description
    rows = page_rows(Lake.from_data_dir(data_dir))
    assert len(rows) == 1 and rows["endpoint"].iloc[0].startswith(f"(page) {table}: "), rows.to_string()
    row = rows.iloc[0]
    assert row["rows_received"] - row["rows_landed"] - row["rows_quarantined"] - row["rows_deduplicated"] == 1
    # The row names the archived page that holds the lost record.
    number = int(row["endpoint"].split("archived page ")[1].split(" ")[0])
    raw = RawArchive.from_data_dir(data_dir)
    page = next(p for p in raw.iter_pages(asset, ONE_DAY) if p.envelope["page"] == number)
    location = page.envelope["records"]
    held = [page.body[location["key"]][i] for i in location["kept"]]
    assert any(record.get("userid") == lost_row["userid"] for record in held), held
    assert f"archived page {number} of {asset} {ONE_DAY.isoformat()}" in failed[0].description


def test_snapshots_account_for_every_record(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with corrupt_pipeline(monkeypatch, tmp_path, rate=0.5) as (emu, data_dir):
        # Taken at the emulator's own moment, when its upcoming and live meetings exist.
        lake, raw = Lake.from_data_dir(data_dir), RawArchive.from_data_dir(data_dir)
        ctx = SyncContext(clients=TencentMeetingResource().clients(CallStats()), lake=lake, raw=raw, tz=TZ,
                          now=lambda: NOW)
        landed = snapshot_meetings(ctx)
        snapshot_mutations = [m for m in emu.mutations() if "meeting_state=1" not in m["target"]]
    assert snapshot_mutations, "the corrupt profile reached no snapshot record; the test would prove little"
    quarantine = lake.read("quarantine")
    for table in ("upcoming_meetings", "live_meetings"):
        tally = landed[table].tally
        assert tally is not None and tally.unaccounted == 0, tally
        assert not landed[table].unbalanced_pages
        assert tally.landed == len(lake.read(table)) and tally == ctx.tallies[(table, NOW.astimezone(ctx.tz_info).date())]
        assert tally.quarantined == int((quarantine["table_name"] == table).sum())
    # Only corrupted records were set aside (the snapshot rules need not reject every one of them).
    corrupted = {canonical(m["mutated"]) for m in snapshot_mutations}
    set_aside = quarantine[quarantine["table_name"].isin(list(landed))]["record_json"]
    assert len(set_aside) > 0 and all(canonical(json.loads(r)) in corrupted for r in set_aside)
    received = sum(landed[t].tally.received for t in landed)
    assert received == sum(len(list(page.records)) for page in replay_pages(raw, "meeting_snapshots", NOW.astimezone(ctx.tz_info).date()))
