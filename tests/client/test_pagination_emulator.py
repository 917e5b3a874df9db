"""Every pagination style walks to the end and matches the ground truth's keys, under faults too."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.testing import running_emulator
from emulator.truth import compute_truth
from resources.tencent.client import TencentMeetingClient
from tests.client.conftest import CANARY_SECRET, CANARY_SECRET_KEY, settings_for, write_apps

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
TRUTH_RANGE = {"start": date(2025, 12, 31), "end": date(2026, 3, 2)}


def keys(frame: Any, cols: tuple[str, ...]) -> set[tuple[Any, ...]]:
    return set(frame[list(cols)].itertuples(index=False, name=None))


def records(pages: Any) -> list[dict[str, Any]]:
    return [r for p in pages for r in p.records]


def us(ms: int) -> Any:
    import pandas as pd

    return pd.Timestamp(ms * 1000, unit="us", tz="UTC")


@pytest.mark.parametrize("faults", ["none", "flaky", "hostile"])
def test_account_level_walks_match_truth(tmp_path: Path, faults: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    apps = write_apps(tmp_path, "http://127.0.0.1:9/cb")
    with running_emulator(apps_path=str(apps), scale="small", now=NOW, faults=faults, seed=11,
                          rate_limit="off") as emu:
        settings = settings_for(emu.base_url, tmp_path / "data", mode="aksk",
                                TMEET_OPERATOR_ID=_admin(emu), TMEET_QUOTA_WINDOW_SECONDS="0.2",
                                TMEET_RETRY_ATTEMPTS="8")
        truth = compute_truth(emu.enterprise, **TRUTH_RANGE)
        client = TencentMeetingClient(settings, sleep=lambda s: None if s <= 0 else __import__("time").sleep(min(s, 0.25)))
        end = NOW

        users = records(client.iter_corp_users())
        assert {(u["userid"],) for u in users} == keys(truth["users"], ("userid",))
        roles = records(client.iter_roles())
        assert {(r["role_code"],) for r in roles} == keys(truth["roles"], ("role_code",))

        meetings = records(client.iter_corp_meetings(1, START, end))
        got = {(m["meeting_id"], m.get("sub_meeting_id") or "", us(m["start_time"])) for m in meetings}
        assert got == keys(truth["meetings"], ("meeting_id", "sub_meeting_id", "start_time"))

        sessions = set()
        for m in meetings:
            for page in client.iter_participants(m["meeting_id"], m.get("sub_meeting_id") or "",
                                                 m["start_time"] // 1000, m["end_time"] // 1000):
                for p in page.records:
                    person = p.get("userid") or p.get("uuid") or p.get("ms_open_id")
                    sessions.add((m["meeting_id"], m.get("sub_meeting_id") or "", person,
                                  us(int(p["join_time"]) * 1000)))
        expected = keys(truth["participant_sessions"], ("meeting_id", "sub_meeting_id", "person_key", "join_time"))
        assert sessions == expected
        skipped = client.stats.snapshot()["GET /v1/meetings/{meeting_id}/participants"]["skip_reasons"]
        deleted = {(m["meeting_id"], m.get("sub_meeting_id") or "") for m in meetings} - {k[:2] for k in expected}
        assert {tuple((s["resource"].split()[1] + "/").split("/")[:2]) for s in skipped} == deleted
        assert all(s["code"] == 9003 for s in skipped)

        recs = records(client.iter_corp_records(START, end))
        assert {(r["meeting_record_id"],) for r in recs} == keys(truth["recordings"], ("meeting_record_id",))
        events = set()
        for r in recs[:15]:
            for et in (1, 2):
                for e in records(client.iter_record_events(r["meeting_record_id"], et, START, end)):
                    events.add((r["meeting_record_id"], e["event_type"], us(e["operate_time"]), e["userid"]))
        t = truth["recording_events"]
        t = t[t.meeting_record_id.isin([r["meeting_record_id"] for r in recs[:15]])]
        assert events == keys(t, ("meeting_record_id", "event_type", "operate_time", "userid"))

        snap = client.stats.snapshot()
        assert all(v["calls"] >= v["pages"] for v in snap.values())
        client.close()
        injected = emu.stats()["faults"]
    # Otherwise a profile that injected nothing would pass as "matches the truth under faults".
    if faults == "none":
        assert not any(injected.values()), injected
    else:
        assert sum(injected.values()) > 0, f"the {faults} profile injected no fault: {injected}"
        failed_calls = sum(n for kind, n in injected.items() if kind in ("server_error", "drop", "truncate"))
        retries = sum(v["retries"] for v in snap.values())
        assert retries >= (1 if failed_calls else 0), f"{failed_calls} failed call(s) injected, {retries} retries"
    for record in caplog.records:
        text = record.getMessage()
        assert CANARY_SECRET_KEY not in text and CANARY_SECRET not in text


def _admin(emu: Any) -> str:
    from emulator.app import super_admin_of

    return super_admin_of(emu.enterprise)
