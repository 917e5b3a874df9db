"""Truth by viewer: what each caller may read under each reading, from the model alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from emulator.api.meetings import attended
from emulator.cli import main as emulator_main
from emulator.clock import Clock
from emulator.enterprise import Enterprise
from emulator.truth import Viewer, compute_truth, compute_viewer_truth

NOW = datetime(2026, 6, 17, 4, 0, tzinfo=UTC)
FIRST, LAST = date(2026, 5, 20), date(2026, 6, 16)


@pytest.fixture(scope="module")
def ent() -> Enterprise:
    return Enterprise(7, "small", 30, Clock(NOW))


@pytest.fixture(scope="module")
def whole(ent: Enterprise) -> dict[str, pd.DataFrame]:
    return compute_truth(ent, start=FIRST, end=LAST)


def meeting_keys(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(frame[["meeting_id", "sub_meeting_id"]].itertuples(index=False, name=None))


def oauth_creators(ent: Enterprise) -> list[str]:
    return sorted({i.creator for d in ent.covered_days(FIRST, LAST) for i in ent.day(d) if i.oauth_created})[:3]


@pytest.mark.parametrize("viewer", [Viewer(platform="api-reference"), Viewer(platform="scope-table"),
                                    Viewer(platform="scope-table", auth_mode="oauth", app_type="account")])
def test_aksk_and_account_level_oauth_under_the_scope_table_see_everything(
    ent: Enterprise, whole: dict[str, pd.DataFrame], viewer: Viewer
) -> None:
    seen = compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=viewer)
    for table, frame in whole.items():
        pd.testing.assert_frame_equal(seen[table], frame, obj=table)


def test_oauth_under_the_api_reference_sees_only_oauth_created_meetings_of_its_users(
    ent: Enterprise, whole: dict[str, pd.DataFrame]
) -> None:
    users = oauth_creators(ent)
    reference = compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=Viewer(
        platform="api-reference", auth_mode="oauth", app_type="user", userids=frozenset(users)))
    table = compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=Viewer(
        platform="scope-table", auth_mode="oauth", app_type="user", userids=frozenset(users)))
    got = meeting_keys(reference["meetings"])
    assert got and got < meeting_keys(table["meetings"]) < meeting_keys(whole["meetings"])
    for key in got:
        (inst,) = [i for i in ent.instances_of(key[0]) if i.sub_meeting_id == key[1]]
        assert inst.oauth_created and (inst.creator in users or any(attended(ent, inst, u) for u in users))
    assert meeting_keys(reference["participant_sessions"]) <= got
    hosts = set(reference["recordings"]["host_userid"])
    assert hosts and hosts <= set(users)
    assert len(reference["recordings"]) < len(table["recordings"])
    assert set(reference["recording_events"]["meeting_record_id"]) <= set(reference["recordings"]["meeting_record_id"])
    assert set(reference["users"]["userid"]) == set(users)
    assert reference["roles"].empty and reference["user_departments"].empty
    for pushed in ("webhook_events", "live_attendance"):
        assert len(reference[pushed]) == len(whole[pushed])


def test_account_level_oauth_under_the_api_reference_reaches_only_its_admins_oauth_meetings(
    ent: Enterprise, whole: dict[str, pd.DataFrame]
) -> None:
    admin = ent.super_admin
    seen = compute_viewer_truth(ent, start=FIRST, end=LAST,
                                viewer=Viewer(platform="api-reference", auth_mode="oauth", app_type="account"))
    for key in meeting_keys(seen["meetings"]):
        (inst,) = [i for i in ent.instances_of(key[0]) if i.sub_meeting_id == key[1]]
        assert inst.oauth_created and (inst.creator == admin or attended(ent, inst, admin))
    assert len(seen["meetings"]) < len(whole["meetings"])
    # No directory list takes OAuth under the reference: only the admin's own record, no departments or roles.
    assert set(seen["users"]["userid"]) == {admin}
    assert seen["user_departments"].empty and seen["roles"].empty
    other = oauth_creators(ent)[0]
    as_other = compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=Viewer(
        platform="api-reference", auth_mode="oauth", app_type="account", userids=frozenset({other})))
    assert set(as_other["recordings"]["host_userid"]) <= {other} and len(as_other["meetings"]) > 0


def test_a_user_level_viewer_needs_known_users(ent: Enterprise) -> None:
    with pytest.raises(ValueError, match="userids"):
        compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=Viewer(auth_mode="oauth", app_type="user"))
    with pytest.raises(ValueError, match="nobody"):
        compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=Viewer(
            auth_mode="oauth", app_type="user", userids=frozenset({"nobody"})))
    with pytest.raises(ValueError, match="platform"):
        compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=Viewer(platform="seed"))  # type: ignore[arg-type]


def test_the_truth_command_writes_a_viewers_truth(ent: Enterprise, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    users = oauth_creators(ent)[:2]
    argv = ["truth", "--seed", "7", "--scale", "small", "--days", "30", "--now", NOW.isoformat(),
            "--start", FIRST.isoformat(), "--end", LAST.isoformat(), "--out", str(tmp_path),
            "--platform", "api-reference", "--auth-mode", "oauth", "--app-type", "user"]
    for userid in users:
        argv += ["--userid", userid]
    assert emulator_main(argv) == 0
    assert "a user-level OAuth app" in capsys.readouterr().out
    want = compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=Viewer(
        platform="api-reference", auth_mode="oauth", app_type="user", userids=frozenset(users)))
    for table in ("meetings", "participant_sessions", "recordings", "users"):
        written = pd.read_parquet(tmp_path / f"{table}.parquet")
        assert len(written) == len(want[table]) > 0, table
    without_users = [a for a in argv if a not in users and a != "--userid"]
    assert emulator_main(without_users) == 2
    assert "--userid" in capsys.readouterr().err


@pytest.mark.parametrize("platform", ["api-reference", "scope-table"])
@pytest.mark.parametrize(("auth_mode", "app_type"), [("aksk", "account"), ("oauth", "account"), ("oauth", "user")])
def test_the_reach_the_product_prints_agrees_with_the_viewer_truth(
    ent: Enterprise, whole: dict[str, pd.DataFrame], platform: str, auth_mode: str, app_type: str
) -> None:
    from pipelines.reach import reach_summary

    userids = frozenset(oauth_creators(ent)[:1]) if app_type == "user" else frozenset()
    seen = compute_viewer_truth(ent, start=FIRST, end=LAST, viewer=Viewer(
        platform=platform, auth_mode=auth_mode, app_type=app_type, userids=userids))  # type: ignore[arg-type]
    everything = all(len(seen[t]) == len(whole[t]) for t in whole)
    said = reach_summary(platform, auth_mode, app_type)
    assert (": the whole account" in said) == everything, said
    assert ("without departments or roles" in said) == (seen["roles"].empty and seen["user_departments"].empty
                                                         and platform == "api-reference"), said
