from __future__ import annotations

from resources.tencent.scopes import ASSETS, plan_assets


def test_account_app_with_all_view_scopes_runs_everything() -> None:
    plan = plan_assets("account", ["VIEW_ALL_MEETINGS", "VIEW_ALL_RECORDS", "VIEW_ALL_USERS"])
    assert set(plan.run) == set(ASSETS) and not plan.skipped


def test_missing_scope_named_per_skipped_asset() -> None:
    plan = plan_assets("account", ["查看所有用户的会议"])
    assert "meetings" in plan.run and "attendance" in plan.run
    assert "VIEW_ALL_RECORDS" in plan.skipped["recordings"]
    assert "VIEW_ALL_USERS" in plan.skipped["roles"]


def test_manage_scope_implies_view() -> None:
    assert "recordings" in plan_assets("account", ["MANAGE_ALL_RECORDS"]).run


def test_user_level_app() -> None:
    plan = plan_assets("user", ["VIEW_MEETING", "VIEW_VIDEO", "VIEW_USER_INFO"])
    assert "roles" in plan.skipped and "user_departments" in plan.skipped
    assert {"users", "meetings", "recordings", "upcoming_meetings"} <= set(plan.run)
    # account-level scope names mean nothing to a user-level app
    assert "meetings" in plan_assets("user", ["VIEW_ALL_MEETINGS"]).skipped


def test_aksk_plans_everything_when_scopes_unreported() -> None:
    assert set(plan_assets("aksk", None).run) == set(ASSETS)
