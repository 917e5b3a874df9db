"""A user-level OAuth app: the sync fans out over every logged-in user and lands what each may see."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from assets.schemas import KEYS
from emulator.api.meetings import HOST_ROLES
from emulator.testing import EmulatorHandle, running_emulator
from emulator.truth import compute_truth
from pipelines.auth_cli import _oauth_parts
from pipelines.rebuild import rebuild
from pipelines.sync import run_sync
from resources.lake import Lake
from resources.settings import Settings
from resources.tencent.oauth import LoginSession
from tests.pipeline.conftest import FIRST, LAST, NOW

SDK_ID = "400000001"
SECRET = "user-level-app-secret-400000001"
CORP_ID = "demo-corp"
REDIRECT = "http://127.0.0.1:8765/callback"
KIND_SERIES = 1


def apps_file(tmp_path: Path) -> Path:
    path = tmp_path / "apps.json"
    path.write_text(json.dumps({"apps": [{
        "sdk_id": SDK_ID, "secret": SECRET, "type": "user", "corp_id": CORP_ID, "redirect_uris": [REDIRECT],
        "scopes": ["VIEW_MEETING", "VIEW_VIDEO", "VIEW_USER_INFO"], "activated": True, "name": "personal",
    }]}))
    return path


def user_env(emu: EmulatorHandle, data_dir: Path) -> dict[str, str]:
    return {
        "TMEET_API_BASE_URL": emu.base_url,
        "TMEET_OAUTH_BASE_URL": emu.base_url,
        "TMEET_AUTH_MODE": "oauth",
        "TMEET_APP_TYPE": "user",
        "TMEET_SDK_ID": SDK_ID,
        "TMEET_SECRET": SECRET,
        "TMEET_CORP_ID": CORP_ID,
        "TMEET_REDIRECT_URI": REDIRECT,
        "TMEET_DATA_DIR": str(data_dir),
        "TMEET_STEP_RETRIES": "0",
        # A hostile platform's quota bursts then cost one short window, not a real minute.
        "TMEET_QUOTA_WINDOW_SECONDS": "0.6",
        "TMEET_RETRY_MAX_WAIT": "0.5",
    }


def log_in(emu: EmulatorHandle, userid: str) -> str:
    """One user's consent through the client's own login session; returns their open_id."""
    settings = Settings.from_env()
    transport, manager = _oauth_parts(settings)
    try:
        session = LoginSession(settings, manager)
        state = parse_qs(urlsplit(session.url).query)["state"][0]
        code = emu.authorize(SDK_ID, REDIRECT, state, login_userid=userid)
        return session.complete(f"{REDIRECT}?auth_code={code}&state={state}").open_id
    finally:
        transport.close()


def ended_instances(ent: Any) -> Iterator[Any]:
    """Every meeting instance a history list of FIRST..LAST can return (the emulator's own rule)."""
    now_s = ent.now_s()
    for day in ent.covered_days(FIRST, LAST):
        for inst in ent.day(day):
            if inst.held and ent.state(inst) == "ended" and inst.sched_end <= now_s:
                yield inst


def sees(ent: Any, inst: Any, userid: str) -> bool:
    return inst.creator == userid or any(s.userid == userid for s in ent.visible_sessions(inst))


def may_list_participants(ent: Any, inst: Any, userids: set[str]) -> bool:
    """The creator or a host of the meeting (any occurrence, or this one of a series) may list them."""
    instances = ent.instances_of(inst.meeting_id)
    if instances[0].meeting_type == KIND_SERIES:
        instances = [i for i in instances if i.sub_meeting_id == inst.sub_meeting_id]
    return any(
        i.creator in userids
        or any(s.userid in userids and s.user_role in HOST_ROLES for s in ent.visible_sessions(i))
        for i in instances
    )


def chosen_users(ent: Any) -> list[str]:
    """Two creators (those of deleted meetings first, then the busiest), and the person who most
    often joins meetings neither of them created."""
    instances = list(ended_instances(ent))
    busiest = [u for u, _ in Counter(i.creator for i in instances).most_common()]
    deleted = [u for u in busiest if any(i.deleted and i.creator == u for i in instances)]
    creators = list(dict.fromkeys([*deleted[:1], *busiest]))[:2]
    guests = Counter(
        s.userid for i in instances if i.creator not in creators
        for s in ent.visible_sessions(i) if s.userid and s.userid not in creators and s.user_role not in HOST_ROLES
    )
    return [*creators, guests.most_common(1)[0][0]]


@pytest.fixture(params=["none", "hostile"])
def user_level(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[EmulatorHandle, Path]]:
    # The scope table's reading: each user's meetings are visible however they were created.
    with running_emulator(seed=11, scale="small", days=6, now=NOW, rate_limit="off", faults=request.param,
                          apps_path=str(apps_file(tmp_path)), platform="scope-table") as emu:
        data_dir = tmp_path / "data"
        for name, value in user_env(emu, data_dir).items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        yield emu, data_dir


def test_user_level_sync_lands_what_each_user_may_see(user_level: tuple[EmulatorHandle, Path]) -> None:
    emu, data_dir = user_level
    ent = emu.enterprise
    userids = chosen_users(ent)
    open_ids = {log_in(emu, u): u for u in userids}
    assert len(open_ids) == 3
    emu.reset_stats()

    summary = run_sync(FIRST, LAST)
    assert summary.success, summary.failures
    assert not summary.failed_checks

    lake = Lake.from_data_dir(data_dir)
    tables = {t: lake.read(t) for t in ("users", "meetings", "participant_sessions", "recordings", "recording_files")}
    for table, frame in tables.items():
        assert not frame.duplicated(subset=list(KEYS[table])).any(), f"duplicate keys in {table}"
    assert set(tables["users"]["userid"]) == set(open_ids)

    visible = [i for i in ended_instances(ent) if any(sees(ent, i, u) for u in userids)]
    assert {(m, s) for m, s in tables["meetings"][["meeting_id", "sub_meeting_id"]].itertuples(index=False)} == {
        (i.meeting_id, i.sub_meeting_id) for i in visible
    }

    allowed = [i for i in visible if may_list_participants(ent, i, set(userids))]
    denied = [i for i in visible if not may_list_participants(ent, i, set(userids))]
    assert allowed and denied, "every meeting was listable (or none); the test would prove nothing"
    truth = compute_truth(ent, start=FIRST, end=LAST)
    session_key = ["meeting_id", "sub_meeting_id", "person_key", "join_time"]
    allowed_keys = {(i.meeting_id, i.sub_meeting_id) for i in allowed}
    want = {k for k in truth["participant_sessions"][session_key].itertuples(index=False, name=None)
            if (k[0], k[1]) in allowed_keys}
    got = set(tables["participant_sessions"][session_key].itertuples(index=False, name=None))
    assert got == want

    log = lake.read("sync_log")
    skips = [s for reasons in log["skip_reasons"] for s in json.loads(reasons)]
    assert sorted(s["resource"] for s in skips if s["code"] == 9042) == sorted(map(resource, denied))
    # A hostile platform deletes meetings after they end: listable ones are skipped as gone.
    gone = [i for i in allowed if i.deleted]
    assert sorted(s["resource"] for s in skips if s["code"] == 9003) == sorted(map(resource, gone))
    assert all(s["code"] in (9042, 9003) for s in skips), skips
    if emu.config.faults == "hostile":
        stats = emu.stats()
        assert gone and stats["faults"], "the hostile platform injected nothing; the test would prove nothing"
        assert stats["oauth"]["revocations"] >= 1 and stats["oauth"]["refreshes"] >= 1, stats["oauth"]

    own_recordings = truth["recordings"][truth["recordings"]["host_userid"].isin(userids)]
    assert len(own_recordings) > 0, "no logged-in user has a recording; the test would prove nothing"
    assert set(tables["recordings"]["meeting_record_id"]) == set(own_recordings["meeting_record_id"])
    own_files = truth["recording_files"][truth["recording_files"]["meeting_record_id"].isin(own_recordings["meeting_record_id"])]
    assert set(tables["recording_files"]["record_file_id"]) == set(own_files["record_file_id"])

    # Each user's calls count against that user's own quota.
    quota_keys = emu.stats()["quota_keys"]
    assert len(quota_keys) == len(userids), quota_keys
    assert all(calls > 0 for calls in quota_keys.values())

    # The archive of a user-level run replays to the same lake, with no call to anyone's quota.
    synced = lake_bytes(data_dir)
    emu.reset_stats()
    shutil.rmtree(data_dir / "lake")
    rebuild(data_dir, "Asia/Shanghai", publish_warehouse=False)
    assert lake_bytes(data_dir) == synced
    assert emu.stats()["total_calls"] == 0


def resource(inst: Any) -> str:
    return f"meeting {inst.meeting_id}/{inst.sub_meeting_id}" if inst.sub_meeting_id else f"meeting {inst.meeting_id}"


def lake_bytes(data_dir: Path) -> dict[str, bytes]:
    root = data_dir / "lake"
    # The run log and the report tables (written by the warehouse publish) are not re-derived from pages.
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))
            if p.relative_to(root).parts[0] != "sync_log" and not p.relative_to(root).parts[0].startswith("report_")}
